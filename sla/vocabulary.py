"""The closed vocabularies of SPEC sections 2 and 3, shared by the catalog, the event contract and the fold."""

from typing import Literal, get_args

Severity = Literal["critical", "high", "medium", "low"]
Metric = Literal["first_response", "next_response", "resolution", "hardware_replacement", "line_pickup"]
ComponentClass = Literal["hot_swap", "cold_swap", "board"]
Component = Literal[
    "disk",
    "ssd",
    "nvme",
    "psu",
    "fan",
    "ram",
    "nic",
    "raid_controller",
    "gpu",
    "motherboard",
    "cpu",
    "chassis",
]
Status = Literal["open", "pending_customer", "resolved", "closed"]
Locale = Literal["en", "fr", "ru"]
Author = Literal["customer", "agent"]
Visibility = Literal["public", "internal"]
Category = Literal["incident", "question", "hardware"]
ClockState = Literal["running", "paused", "met", "breached", "cancelled"]
MessageKind = Literal["answer", "holding"]  # a holding reply says "we are on it" and answers nothing yet

SEVERITIES: tuple[Severity, ...] = get_args(Severity)
METRICS: tuple[Metric, ...] = get_args(Metric)
# The metrics a support level promises (SPEC section 2); `line_pickup` is the OLA between support lines
# (section 10), a target of the line, not of the customer's level.
LEVEL_METRICS: tuple[Metric, ...] = ("first_response", "next_response", "resolution", "hardware_replacement")
COMPONENTS: tuple[Component, ...] = get_args(Component)

# Which replacement window applies to a component: the datacenter's classes of SPEC section 2.
COMPONENT_CLASS: dict[Component, ComponentClass] = {
    "disk": "hot_swap",
    "ssd": "hot_swap",
    "nvme": "hot_swap",
    "psu": "hot_swap",
    "fan": "hot_swap",
    "ram": "cold_swap",
    "nic": "cold_swap",
    "raid_controller": "cold_swap",
    "gpu": "cold_swap",
    "motherboard": "board",
    "cpu": "board",
    "chassis": "board",
}
