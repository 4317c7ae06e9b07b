"""Chính quyền số: nền tảng chính quyền số cho tỉnh, thành phố."""

__version__ = "0.1.0"
