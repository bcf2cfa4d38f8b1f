"""Render a store service's compose template into its docker-compose.yml.

render_compose(template_text, manifest, context) -> RenderResult
render_env(manifest, context) -> dict[str, str]
render_iptables_rules(manifest, context) -> list[RenderedRule]
check_template(template_text, manifest, options) -> list[Issue]
check_template_file(path, manifest, options) -> list[Issue]
template_notes(template_text, manifest, options) -> list[Issue] (review notes, not refusals)
"""

from shared.compose.const import (
    CELL_NETWORK,
    CELL_SUBNET,
    SERVICE_IP_FIRST,
    SERVICE_IP_LAST,
    TEMPLATE_FILE,
)
from shared.compose.context import RenderContext, RenderedRule, RenderResult
from shared.compose.render import (
    check_template,
    check_template_file,
    render_compose,
    render_env,
    render_iptables_rules,
    template_notes,
)
from shared.compose.template import read_template

__all__ = [
    "CELL_NETWORK",
    "CELL_SUBNET",
    "SERVICE_IP_FIRST",
    "SERVICE_IP_LAST",
    "TEMPLATE_FILE",
    "RenderContext",
    "RenderResult",
    "RenderedRule",
    "check_template",
    "check_template_file",
    "read_template",
    "render_compose",
    "render_env",
    "render_iptables_rules",
    "template_notes",
]
