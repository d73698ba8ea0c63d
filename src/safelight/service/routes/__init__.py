"""The service's routers, one module per area; ``create_app`` includes each.

A new area adds a module with an ``APIRouter``, declares each route's roles with
``requires``/``public`` (safelight.service.access), takes ``ServiceContext`` with
``Depends(context)``, calls the library, and is included in ``app.create_app``.
"""
