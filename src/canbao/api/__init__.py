"""The JSON API under /api/v1 (django-ninja): residents, assessments and positions, payments
posted by the channels' integrations, and reports. See docs/api.md."""
