"""Fixtures of the classroom tests: the fake Azure, the browser, the stand-in CLI's project."""

from tests.classroom.azure_fixtures import azure, azure_tls
from tests.classroom.browser import browser
from tests.classroom.progress_fixtures import lakes, world
from tests.classroom.test_driver import project

__all__ = ["azure", "azure_tls", "browser", "lakes", "project", "world"]
