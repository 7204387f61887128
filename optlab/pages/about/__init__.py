"""The About page: update rules, schedules, URL parameters."""
