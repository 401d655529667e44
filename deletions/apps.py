from django.apps import AppConfig


class DeletionsConfig(AppConfig):
    name = "deletions"
    verbose_name = "Deletions"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Transition hooks and signal receivers, registered in every process (web, worker,
        # beat): the task layer's wake-ups (the engine, certificates, the inventory, signed
        # POSTs), and the e-mails to customers (approved, rejected, completed). Imported here,
        # not at the top, because models must not be imported before the app registry is ready.
        import deletions.tasks  # noqa: F401
        from deletions.gdpr import subject_notices
        from deletions.notifications import customer_emails as notifications

        notifications.register()
        # The data subject's notices (rejected, cancelled; completion waits for the certificate).
        subject_notices.register()
