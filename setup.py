"""Package list: `resources/` installs as the `storyloom_resources` package, so the default
model, the sample storyboard and the icons are found the same way in an editable install,
a normal install and a frozen bundle (see `engine/resources_path.py`)."""

from setuptools import find_packages, setup

setup(
    packages=find_packages(include=["app", "app.*", "engine", "engine.*"])
    + ["storyloom_resources"],
    package_dir={"storyloom_resources": "resources"},
    package_data={"storyloom_resources": ["**/*"]},
    include_package_data=True,
)
