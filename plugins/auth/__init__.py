"""Users and authentication: password hashing, JWT, roles, and the account endpoints.

Passwords are hashed with pwdlib (Argon2id; bcrypt hashes still verify and are
upgraded at the next login); tokens are PyJWT HS256 with ``exp``, ``sub``, ``iat``,
``jti`` and ``type``, the algorithm pinned on decode. Roles grant permissions and
endpoints ask for permissions. It fills the layered package (``models/user.py``,
``schemas/``, ``repositories/user.py``, ``services/``) and mounts
``/api/v1/auth`` (register, login with the OAuth2 password form, refresh, logout)
and ``/api/v1/users`` (``me``, and every account for those with the permission).

Tokens belong to a login session stored in ``auth_sessions``: refresh tokens rotate
(a reused one revokes its session), logout and a password change revoke, and failed
logins (``login_failures``) are throttled per account and per client address. With
``migrations`` those two tables come in a revision of their own, ``0002``, after the
initial one that creates ``users``.
"""

from __future__ import annotations

from pathlib import Path

from uts.plugin import Component, Context, Contributions, impl
from uts_plugins.config import setting

# The user table as Alembic's autogenerate writes it; the initial revision of the
# ``migrations`` component creates it, and ``alembic check`` proves they agree.
_USERS_UPGRADE = """\
op.create_table(
    "users",
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column(
        "email", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False
    ),
    sa.Column(
        "full_name", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True
    ),
    sa.Column(
        "hashed_password",
        sqlmodel.sql.sqltypes.AutoString(length=255),
        nullable=False,
    ),
    sa.Column(
        "role",
        sa.Enum("user", "admin", name="role", native_enum=False, length=20),
        nullable=False,
    ),
    sa.Column("is_active", sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint("id"),
)
op.create_index(op.f("ix_users_email"), "users", ["email"], unique=True)"""

_USERS_DOWNGRADE = """\
op.drop_index(op.f("ix_users_email"), table_name="users")
op.drop_table("users")"""

_TEMPLATES = Path(__file__).parent / "templates"
# Files rendered only next to another component: the revision that creates the
# session tables (migrations), a test of what the logs keep (logging).
_WITH = {name: _TEMPLATES / f"with_{name}" for name in ("migrations", "logging")}


@impl
def uts_component() -> Component:
    return Component(
        name="auth",
        version="0.2.0",
        summary="Users with roles, Argon2 passwords, JWT, /api/v1/auth and /api/v1/users.",
        requires=("layers", "errors", "config", "database", "fastapi"),
        conflicts=(),
        options=(),
        templates=_TEMPLATES / "common",
    )


@impl
def uts_contribute(ctx: Context, out: Contributions) -> None:
    package = ctx.package
    out.dependency("pyjwt>=2.15")
    out.dependency("pwdlib[argon2,bcrypt]>=0.3")
    out.dependency("email-validator>=2.4")
    out.dependency("python-multipart>=0.0.34")
    out.dependency("pydantic>=2.11")
    setting(out, "secret_key", "", "Key that signs tokens: 32 characters or more.", secret=True)
    setting(
        out,
        "access_token_expire_minutes",
        30,
        "Minutes an access token stays valid.",
    )
    setting(
        out,
        "refresh_token_expire_minutes",
        60 * 24 * 7,
        "Minutes a refresh token stays valid.",
    )
    setting(
        out,
        "login_max_failures_per_account",
        5,
        "Failed logins for one account within the window before it is throttled.",
    )
    setting(
        out,
        "login_max_failures_per_address",
        20,
        "Failed logins from one client address within the window before it is throttled.",
    )
    setting(
        out,
        "login_failure_window_seconds",
        15 * 60,
        "Seconds a failed login counts against the account and the address.",
    )
    out.fragment("models", {"module": f"{package}.models.user", "names": ["User"]}, key="User")
    out.fragment(
        "models",
        {"module": f"{package}.models.auth_session", "names": ["AuthSession", "LoginFailure"]},
        key="AuthSession",
    )
    for name, templates in _WITH.items():
        if ctx.has(name):
            out.templates(templates)
    for name in ("auth", "users"):
        module = f"{package}.api.v1.endpoints.{name}"
        out.fragment("api-v1-routers", {"module": module, "attr": "router"}, key=module)
    deps = f"{package}.api.security"
    out.fragment(
        "api-deps",
        {"module": deps, "names": ["CurrentUser", "get_current_user", "require_permission"]},
        key=deps,
    )
    out.fragment(
        "initial-migration",
        {"table": "users", "upgrade": _USERS_UPGRADE, "downgrade": _USERS_DOWNGRADE},
        key="users",
    )
    out.fragment("pytest-plugins", {"module": "tests.fixtures.auth"}, key="tests.fixtures.auth")
    out.fragment(
        "readme",
        {
            "title": "Accounts and authentication",
            "body": "\n".join(
                [
                    "| Method | Path | Who | Does |",
                    "| --- | --- | --- | --- |",
                    "| `POST` | `/api/v1/auth/register` | anyone | open an account (`201`; "
                    "`409` if the email is taken) |",
                    "| `POST` | `/api/v1/auth/login` | anyone | OAuth2 password form "
                    "(`username` is the email) to an access and a refresh token |",
                    "| `POST` | `/api/v1/auth/refresh` | refresh token | new tokens; the "
                    "refresh token sent stops working |",
                    "| `POST` | `/api/v1/auth/logout` | refresh token | end the session (`204`) |",
                    "| `GET`, `PATCH` | `/api/v1/users/me` | user | one's own account |",
                    "| `POST` | `/api/v1/users/me/password` | user | change one's "
                    "password, given the current one |",
                    "| `GET` | `/api/v1/users`, `/api/v1/users/{id}` | `users:read` | "
                    "list (paged) and read accounts |",
                    "| `PATCH`, `DELETE` | `/api/v1/users/{id}` | `users:write` | change "
                    "(role included) and delete accounts |",
                    "",
                    "Send the access token as `Authorization: Bearer <token>`. Passwords "
                    "are stored as Argon2id hashes (older bcrypt hashes still verify and "
                    "are upgraded at the next login) and never returned. Tokens are JWTs "
                    "signed with `SECRET_KEY` (HS256); an access token lasts "
                    "`ACCESS_TOKEN_EXPIRE_MINUTES`. The `admin` role grants every "
                    f"permission (`{package}/core/security/permissions.py`); the "
                    "`user` role manages only its own account, and the last active admin "
                    "cannot lose the role (`409`).",
                    "",
                    "Each login opens a session (table `auth_sessions`) that every token "
                    "it issues names (`sid`). A refresh token works once: refreshing "
                    "replaces it, and sending a replaced one again revokes the whole "
                    "session (stolen tokens stop working for the thief and the owner "
                    "alike). Logging out ends the session; changing one's password, or an "
                    "admin setting a new one, ends every session of the account. Access "
                    "tokens of an ended session are refused at once. Failed logins count "
                    "against the account (`LOGIN_MAX_FAILURES_PER_ACCOUNT`) and the "
                    "client's address (`LOGIN_MAX_FAILURES_PER_ADDRESS`) for "
                    "`LOGIN_FAILURE_WINDOW_SECONDS`; past either limit, logins answer "
                    "`429` with `Retry-After`. Behind a proxy, run uvicorn with "
                    "`--proxy-headers` (and `--forwarded-allow-ips`) so the address is "
                    "the client's.",
                ]
            ),
        },
    )
