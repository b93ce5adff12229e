"""Moto resources built from template.yaml; the builder lives in local.stack (the CLI uses it too)."""

from local.stack import DEFAULT_TEMPLATE, LocalResources, create_resources, load_template

__all__ = ["DEFAULT_TEMPLATE", "LocalResources", "create_resources", "load_template"]
