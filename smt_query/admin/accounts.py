"""Accounts of the admin (in the accounts database, never in the record store)."""
from ..errors import QueryError
from .routers import accounts_alias


def _users():
    from django.contrib.auth import get_user_model
    return get_user_model().objects.db_manager(accounts_alias())


def has_users():
    """True if at least one account can log in."""
    return _users().filter(is_active=True, is_staff=True).exists()


def create_user(name, password):
    """Create the account ``name`` (staff and superuser: it may view and tag
    every record). Raises :class:`QueryError` for a taken name or a weak password."""
    from django.contrib.auth import password_validation
    from django.core.exceptions import ValidationError
    users = _users()
    user = users.model(username=name, is_staff=True, is_superuser=True)
    try:
        user.full_clean(exclude=["password"])
        password_validation.validate_password(password, user)
    except ValidationError as err:
        raise QueryError(" ".join(_messages(err))) from None
    user.set_password(password)
    user.save(using=accounts_alias())
    return user


def _messages(err):
    if hasattr(err, "message_dict"):
        return [f"{m}" for msgs in err.message_dict.values() for m in msgs]
    return list(err.messages)
