from django.apps import AppConfig


class DeletionsConfig(AppConfig):
    name = "deletions"
    verbose_name = "Deletions"
    default_auto_field = "django.db.models.BigAutoField"
