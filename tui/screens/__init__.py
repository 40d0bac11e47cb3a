"""Screens of the app: scenario browser, player, help and go-to dialog."""
