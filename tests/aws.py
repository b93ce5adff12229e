"""Moto resources built from template.yaml; the builder lives in infra.local_stack (the CLI uses it too)."""

from infra.local_stack import DEFAULT_TEMPLATE, LocalResources, create_resources, load_template

__all__ = ["DEFAULT_TEMPLATE", "LocalResources", "create_resources", "load_template"]
