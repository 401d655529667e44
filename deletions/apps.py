from django.apps import AppConfig


class DeletionsConfig(AppConfig):
    name = "deletions"
    verbose_name = "Deletions"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Registers the transition hooks (engine wake-ups) in every process, web included.
        from deletions.tasks import engine  # noqa: F401

        # E-mails to customers about their requests (approved, rejected, completed).
        from deletions import notifications

        notifications.register()
