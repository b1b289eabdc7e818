"""Column types of the tables the Pterodactyl source produces (names are the public API of
the source: checks and tests read them).

Split from `pterodactyl.py` so the fetching code and the table contract read separately;
`pterodactyl.SCHEMAS` re-exports this dict.
"""

from __future__ import annotations

from readiness.sources._http_common import Schema

SCHEMAS: dict[str, Schema] = {
    "panel_locations": {"id": "Int64", "short": "string", "long": "string"},
    "panel_nodes": {
        "id": "Int64",
        "uuid": "string",
        "name": "string",
        "location_id": "Int64",
        "fqdn": "string",
        "public": "boolean",
        "maintenance_mode": "boolean",
        "memory": "Int64",
        "memory_overallocate": "Int64",
        "disk": "Int64",
        "disk_overallocate": "Int64",
        "allocated_memory": "Int64",
        "allocated_disk": "Int64",
    },
    "panel_allocations": {
        "node_id": "Int64",
        "id": "Int64",
        "ip": "string",
        "port": "Int64",
        "alias": "string",
        "assigned": "boolean",
    },
    "panel_eggs": {
        "id": "Int64",
        "nest_id": "Int64",
        "uuid": "string",
        "name": "string",
        "docker_image": "string",
        "docker_images": "list",
        "startup": "string",
    },
    "panel_egg_variables": {
        "egg_id": "Int64",
        "name": "string",
        "env_variable": "string",
        "default_value": "string",
        "rules": "string",
        "required": "boolean",
        "user_editable": "boolean",
    },
    "panel_servers": {
        "id": "Int64",
        "external_id": "string",
        "uuid": "string",
        "identifier": "string",
        "name": "string",
        "status": "string",
        "suspended": "boolean",
        "memory": "Int64",
        "disk": "Int64",
        "cpu": "Int64",
        "swap": "Int64",
        "user_id": "Int64",
        "node_id": "Int64",
        "allocation_id": "Int64",
        "nest_id": "Int64",
        "egg_id": "Int64",
        "image": "string",
        "environment": "string",
        "created_at": "iso",
    },
    "panel_users": {
        "id": "Int64",
        "external_id": "string",
        "uuid": "string",
        "username": "string",
        "email": "string",
        "root_admin": "boolean",
        "created_at": "iso",
    },
}
