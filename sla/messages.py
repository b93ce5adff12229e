"""Words for people: customer notices in their language and time zone, one-line summaries for on-call.

Pure on purpose: the texts are part of the promise (SPEC section 6: the customer's locale, times in the
customer's time zone), so they are tested without AWS, and every channel shows the same words.
Month and weekday names are written out per locale rather than taken from the C library's locale, which
Lambda images do not ship and which would make the output depend on the host.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sla.effects import Alert, Notification, NotificationKind
from sla.vocabulary import Locale

LOCALES: tuple[Locale, ...] = get_args(Locale)
DEFAULT_LOCALE: Locale = "en"

Data = Mapping[str, str | int | None]
_Variant = Literal["due", "no_due"]


@dataclass(frozen=True)
class CustomerMessage:
    """A rendered notice: what goes into the e-mail, and the locale it was written in."""

    subject: str
    body: str
    locale: Locale


@dataclass(frozen=True)
class _Texts:
    weekdays: tuple[str, ...]
    months: tuple[str, ...]
    instant: str  # str.format pattern over weekday, day, month, year, time, zone
    first_day: str  # how the 1st of a month is written ("1", "1er")
    greeting: str
    signature: str
    severities: Mapping[str, str]
    metrics: Mapping[str, str]
    components: Mapping[str, str]
    templates: Mapping[str, tuple[str, str]]  # key -> (subject, paragraph)


_EN = _Texts(
    weekdays=("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
    months=(
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ),
    instant="{weekday}, {day} {month} {year} at {time} ({zone})",
    first_day="1",
    greeting="Hello,",
    signature="— The support team",
    severities={
        "critical": "critical (production down)",
        "high": "high (production impaired)",
        "medium": "medium (system impaired)",
        "low": "low (general question)",
    },
    metrics={
        "first_response": "first response",
        "next_response": "response",
        "resolution": "resolution",
        "hardware_replacement": "hardware replacement",
    },
    components={
        "disk": "disk",
        "ssd": "SSD",
        "nvme": "NVMe drive",
        "psu": "power supply",
        "fan": "fan",
        "ram": "memory (RAM)",
        "nic": "network card",
        "raid_controller": "RAID controller",
        "gpu": "GPU",
        "motherboard": "motherboard",
        "cpu": "processor",
        "chassis": "chassis",
    },
    templates={
        "acknowledged:due": (
            "[Ticket {ticket}] We have received your request",
            "We have received your support request {ticket} (severity: {severity}, support level: {level}).\n"
            "An engineer will respond by {due}.",
        ),
        "acknowledged:no_due": (
            "[Ticket {ticket}] We have received your request",
            "We have received your support request {ticket} (severity: {severity}, support level: {level}).\n"
            "An engineer will respond as soon as possible.",
        ),
        "hardware_scheduled:due": (
            "[Ticket {ticket}] Hardware replacement scheduled on server {server}",
            "We have scheduled the replacement of the {component} of server {server}.\n"
            "It will be completed by {due}.",
        ),
        "hardware_scheduled:no_due": (
            "[Ticket {ticket}] Hardware replacement scheduled on server {server}",
            "We have scheduled the replacement of the {component} of server {server}.\n"
            "It will be completed as soon as possible.",
        ),
        "breach_apology:first_response": (
            "[Ticket {ticket}] Our apologies: we missed our response time",
            "We committed to respond to your request {ticket} by {due}, and we did not keep that commitment. "
            "Please accept our apologies.\nYour request is now handled with priority; an engineer will "
            "contact you shortly.",
        ),
        "breach_apology:hardware_replacement": (
            "[Ticket {ticket}] Our apologies: the hardware replacement is late",
            "We committed to replace the {component} of server {server} by {due}, and we did not keep that "
            "commitment. Please accept our apologies.\nThe replacement is now handled with priority; we will "
            "write to you as soon as it is done.",
        ),
        "breach_apology:other": (
            "[Ticket {ticket}] Our apologies: we missed a commitment",
            "We committed to a {metric} of your request {ticket} by {due}, and we did not keep that "
            "commitment. Please accept our apologies.\nYour request is now handled with priority.",
        ),
        "hardware_completed": (
            "[Ticket {ticket}] Hardware replacement completed on server {server}",
            "The replacement of the {component} of server {server} was completed on {at}.\n"
            "Please check that your services run normally, and reply to this message if anything is wrong.",
        ),
        "survey": (
            "[Ticket {ticket}] How did we do?",
            "Your request {ticket} was resolved on {at}.\n"
            "Please tell us how we did: reply to this message with a rating from 1 (poor) to 5 (excellent) "
            "and any comment. If the problem is not solved, just reply and we will reopen the ticket.",
        ),
        "incident_linked": (
            "[Ticket {ticket}] Your request is part of a known incident",
            "Your request {ticket} is caused by an incident on our platform that our engineers are already "
            "working on: {summary}\nWe will write to you as soon as it is resolved.",
        ),
        "incident_resolved": (
            "[Ticket {ticket}] The incident affecting your request is resolved",
            "The incident behind your request {ticket} was resolved on {at}: {summary}\n"
            "Please check that your services run normally, and reply to this message if anything is wrong.",
        ),
    },
)

_FR = _Texts(
    weekdays=("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"),
    months=(
        "janvier",
        "février",
        "mars",
        "avril",
        "mai",
        "juin",
        "juillet",
        "août",
        "septembre",
        "octobre",
        "novembre",
        "décembre",
    ),
    instant="{weekday} {day} {month} {year} à {time} ({zone})",
    first_day="1er",
    greeting="Bonjour,",
    signature="— L'équipe support",
    severities={
        "critical": "critique (production arrêtée)",
        "high": "haute (production dégradée)",
        "medium": "moyenne (système dégradé)",
        "low": "basse (question générale)",
    },
    metrics={
        "first_response": "première réponse",
        "next_response": "réponse",
        "resolution": "résolution",
        "hardware_replacement": "remplacement matériel",
    },
    components={
        "disk": "disque",
        "ssd": "SSD",
        "nvme": "disque NVMe",
        "psu": "alimentation",
        "fan": "ventilateur",
        "ram": "mémoire (RAM)",
        "nic": "carte réseau",
        "raid_controller": "contrôleur RAID",
        "gpu": "GPU",
        "motherboard": "carte mère",
        "cpu": "processeur",
        "chassis": "châssis",
    },
    templates={
        "acknowledged:due": (
            "[Ticket {ticket}] Nous avons bien reçu votre demande",
            "Nous avons bien reçu votre demande d'assistance {ticket} (sévérité : {severity}, "
            "niveau de support : {level}).\nUn ingénieur vous répondra au plus tard le {due}.",
        ),
        "acknowledged:no_due": (
            "[Ticket {ticket}] Nous avons bien reçu votre demande",
            "Nous avons bien reçu votre demande d'assistance {ticket} (sévérité : {severity}, "
            "niveau de support : {level}).\nUn ingénieur vous répondra dans les meilleurs délais.",
        ),
        "hardware_scheduled:due": (
            "[Ticket {ticket}] Remplacement matériel planifié sur le serveur {server}",
            "Nous avons planifié le remplacement du composant « {component} » du serveur {server}.\n"
            "Il sera effectué au plus tard le {due}.",
        ),
        "hardware_scheduled:no_due": (
            "[Ticket {ticket}] Remplacement matériel planifié sur le serveur {server}",
            "Nous avons planifié le remplacement du composant « {component} » du serveur {server}.\n"
            "Il sera effectué dans les meilleurs délais.",
        ),
        "breach_apology:first_response": (
            "[Ticket {ticket}] Toutes nos excuses : délai de réponse dépassé",
            "Nous nous étions engagés à répondre à votre demande {ticket} au plus tard le {due}, et nous "
            "n'avons pas tenu cet engagement. Veuillez nous en excuser.\nVotre demande est désormais traitée "
            "en priorité ; un ingénieur vous contactera très prochainement.",
        ),
        "breach_apology:hardware_replacement": (
            "[Ticket {ticket}] Toutes nos excuses : remplacement matériel en retard",
            "Nous nous étions engagés à remplacer le composant « {component} » du serveur {server} au plus "
            "tard le {due}, et nous n'avons pas tenu cet engagement. Veuillez nous en excuser.\n"
            "Le remplacement est désormais traité en priorité ; nous vous écrirons dès qu'il sera terminé.",
        ),
        "breach_apology:other": (
            "[Ticket {ticket}] Toutes nos excuses : engagement non tenu",
            "Nous nous étions engagés sur la {metric} de votre demande {ticket} au plus tard le {due}, et "
            "nous n'avons pas tenu cet engagement. Veuillez nous en excuser.\n"
            "Votre demande est désormais traitée en priorité.",
        ),
        "hardware_completed": (
            "[Ticket {ticket}] Remplacement matériel terminé sur le serveur {server}",
            "Le remplacement du composant « {component} » du serveur {server} a été effectué le {at}.\n"
            "Merci de vérifier que vos services fonctionnent normalement et de répondre à ce message en cas "
            "de problème.",
        ),
        "survey": (
            "[Ticket {ticket}] Votre avis nous intéresse",
            "Votre demande {ticket} a été résolue le {at}.\n"
            "Dites-nous ce que vous en avez pensé : répondez à ce message avec une note de 1 (mauvais) à "
            "5 (excellent) et vos commentaires. Si le problème n'est pas réglé, répondez simplement et nous "
            "rouvrirons le ticket.",
        ),
        "incident_linked": (
            "[Ticket {ticket}] Votre demande relève d'un incident connu",
            "Votre demande {ticket} est causée par un incident sur notre plateforme, sur lequel nos "
            "ingénieurs travaillent déjà : {summary}\nNous vous écrirons dès qu'il sera résolu.",
        ),
        "incident_resolved": (
            "[Ticket {ticket}] L'incident à l'origine de votre demande est résolu",
            "L'incident à l'origine de votre demande {ticket} a été résolu le {at} : {summary}\n"
            "Vérifiez que vos services fonctionnent normalement, et répondez à ce message en cas de problème.",
        ),
    },
)

_RU = _Texts(
    weekdays=("понедельник", "вторник", "среда", "четверг", "пятница", "суббота", "воскресенье"),
    months=(  # genitive, as a date is written: "7 апреля"
        "января",
        "февраля",
        "марта",
        "апреля",
        "мая",
        "июня",
        "июля",
        "августа",
        "сентября",
        "октября",
        "ноября",
        "декабря",
    ),
    instant="{weekday}, {day} {month} {year} г., {time} ({zone})",
    first_day="1",
    greeting="Здравствуйте!",
    signature="— Служба поддержки",
    severities={
        "critical": "критический (сервис не работает)",
        "high": "высокий (работа сервиса нарушена)",
        "medium": "средний (система работает с ограничениями)",
        "low": "низкий (общий вопрос)",
    },
    metrics={
        "first_response": "первый ответ",
        "next_response": "ответ",
        "resolution": "решение",
        "hardware_replacement": "замена оборудования",
    },
    components={
        "disk": "диск",
        "ssd": "SSD",
        "nvme": "NVMe-накопитель",
        "psu": "блок питания",
        "fan": "вентилятор",
        "ram": "оперативная память",
        "nic": "сетевая карта",
        "raid_controller": "RAID-контроллер",
        "gpu": "GPU",
        "motherboard": "материнская плата",
        "cpu": "процессор",
        "chassis": "шасси",
    },
    templates={
        "acknowledged:due": (
            "[Заявка {ticket}] Мы получили ваше обращение",
            "Мы получили ваше обращение {ticket} (приоритет: {severity}, уровень поддержки: {level}).\n"
            "Инженер ответит вам не позднее чем: {due}.",
        ),
        "acknowledged:no_due": (
            "[Заявка {ticket}] Мы получили ваше обращение",
            "Мы получили ваше обращение {ticket} (приоритет: {severity}, уровень поддержки: {level}).\n"
            "Инженер ответит вам в кратчайшие сроки.",
        ),
        "hardware_scheduled:due": (
            "[Заявка {ticket}] Запланирована замена оборудования на сервере {server}",
            "Мы запланировали замену компонента «{component}» на сервере {server}.\n"
            "Срок завершения работ: {due}.",
        ),
        "hardware_scheduled:no_due": (
            "[Заявка {ticket}] Запланирована замена оборудования на сервере {server}",
            "Мы запланировали замену компонента «{component}» на сервере {server}.\n"
            "Работы будут выполнены в кратчайшие сроки.",
        ),
        "breach_apology:first_response": (
            "[Заявка {ticket}] Приносим извинения: нарушен срок ответа",
            "Мы обязались ответить на ваше обращение {ticket} не позднее чем: {due} — и не выполнили это "
            "обязательство. Приносим свои извинения.\nВаше обращение обрабатывается в приоритетном порядке, "
            "инженер свяжется с вами в ближайшее время.",
        ),
        "breach_apology:hardware_replacement": (
            "[Заявка {ticket}] Приносим извинения: замена оборудования задерживается",
            "Мы обязались заменить компонент «{component}» на сервере {server} не позднее чем: {due} — и не "
            "выполнили это обязательство. Приносим свои извинения.\nЗамена выполняется в приоритетном "
            "порядке; мы сообщим вам, как только работы будут завершены.",
        ),
        "breach_apology:other": (
            "[Заявка {ticket}] Приносим извинения: нарушен срок",
            "Мы обязались выполнить {metric} по вашему обращению {ticket} не позднее чем: {due} — и не "
            "выполнили это обязательство. Приносим свои извинения.\n"
            "Ваше обращение обрабатывается в приоритетном порядке.",
        ),
        "hardware_completed": (
            "[Заявка {ticket}] Замена оборудования на сервере {server} завершена",
            "Замена компонента «{component}» на сервере {server} завершена: {at}.\n"
            "Пожалуйста, проверьте, что ваши сервисы работают нормально, и ответьте на это письмо, если "
            "что-то не так.",
        ),
        "survey": (
            "[Заявка {ticket}] Оцените нашу работу",
            "Ваше обращение {ticket} решено: {at}.\n"
            "Пожалуйста, оцените нашу работу: ответьте на это письмо, указав оценку от 1 (плохо) до "
            "5 (отлично), и при желании добавьте комментарий. Если проблема не решена, просто ответьте, "
            "и мы вновь откроем заявку.",
        ),
        "incident_linked": (
            "[Заявка {ticket}] Ваше обращение связано с известной аварией",
            "Ваше обращение {ticket} вызвано аварией на нашей платформе, над которой уже работают наши "
            "инженеры: {summary}\nМы напишем вам, как только она будет устранена.",
        ),
        "incident_resolved": (
            "[Заявка {ticket}] Авария, затронувшая ваше обращение, устранена",
            "Авария, вызвавшая ваше обращение {ticket}, устранена: {at}. {summary}\n"
            "Пожалуйста, проверьте работу ваших сервисов и ответьте на это письмо, если что-то не так.",
        ),
    },
)

_TEXTS: Mapping[str, _Texts] = {"en": _EN, "fr": _FR, "ru": _RU}

_LIMITED: Mapping[str, str] = {
    # SPEC section 10: an `acknowledged` notice of a ticket opened in a limited-support period says so, with
    # the period's end in the customer's zone. Russian names the end after a colon: the instant is written
    # in the nominative, which "до ..." would need in the genitive.
    "en": "Support is limited until {until}: answers may take longer than usual.",
    "fr": "Le support est limité jusqu'au {until} : les réponses peuvent prendre plus de temps que d'habitude.",
    "ru": "Поддержка работает в ограниченном режиме, ответ может занять больше времени, чем обычно. "
    "Окончание периода: {until}.",
}


def _zone(timezone: str) -> ZoneInfo:
    """The customer's zone; UTC when the name is unknown, so a bad plan record never blocks a notice."""
    try:
        return ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _texts(locale: str) -> _Texts:
    return _TEXTS.get(locale, _TEXTS[DEFAULT_LOCALE])


def format_instant(epoch: int, timezone: str, locale: str) -> str:
    """An instant as the customer reads it: their calendar, their wall clock, and the zone named."""
    zone = _zone(timezone)
    local = datetime.fromtimestamp(epoch, UTC).astimezone(zone)
    texts = _texts(locale)
    return texts.instant.format(
        weekday=texts.weekdays[local.weekday()],
        day=texts.first_day if local.day == 1 else str(local.day),
        month=texts.months[local.month - 1],
        year=local.year,
        time=local.strftime("%H:%M"),
        zone=zone.key,
    )


def _epoch(value: str | int | None) -> int | None:
    """Instants arrive as epoch seconds from the fold, or as ISO 8601 from a stored view; both are read."""
    if value is None or isinstance(value, int):
        return value
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:  # never guess a zone for a naive time
        return None
    return int(parsed.timestamp())


def _word(table: Mapping[str, str], value: str | int | None) -> str:
    if value is None:
        return "?"
    return table.get(str(value), str(value))


def _template_key(kind: NotificationKind, data: Data, due: int | None) -> str:
    variant: _Variant = "due" if due is not None else "no_due"
    if kind in ("acknowledged", "hardware_scheduled"):
        return f"{kind}:{variant}"
    if kind == "breach_apology":
        metric = data.get("metric")
        return (
            f"breach_apology:{metric}"
            if metric in ("first_response", "hardware_replacement")
            else ("breach_apology:other")
        )
    return kind


def render_notification(notification: Notification) -> CustomerMessage:
    """The e-mail of one notification, in the customer's locale (English when unknown) and time zone."""
    locale: Locale = notification.locale if notification.locale in _TEXTS else DEFAULT_LOCALE
    texts = _TEXTS[locale]
    data = notification.data
    due = _epoch(data.get("due_at"))

    def when(epoch: int | None) -> str:
        return "?" if epoch is None else format_instant(epoch, notification.timezone, locale)

    level = data.get("support_level")
    fields = {
        "ticket": notification.ticket_id,
        "severity": _word(texts.severities, data.get("severity")),
        "level": str(level).capitalize() if level else "?",
        "metric": _word(texts.metrics, data.get("metric")),
        "component": _word(texts.components, data.get("component")),
        "server": str(data.get("server_id") or "?"),
        "summary": str(data.get("summary") or ""),  # an incident's, as its declaration gave it
        "due": when(due),
        "at": when(notification.at),
    }
    subject, paragraph = texts.templates[_template_key(notification.kind, data, due)]
    limited_until = _epoch(data.get("limited_until"))
    if notification.kind == "acknowledged" and limited_until is not None:
        paragraph = f"{paragraph}\n{_LIMITED[locale]}"
        fields["until"] = when(limited_until)
    body = f"{texts.greeting}\n\n{paragraph.format(**fields)}\n\n{texts.signature}\n"
    return CustomerMessage(subject=subject.format(**fields), body=body, locale=locale)


# ----- on-call ---------------------------------------------------------------------------------------------


def _utc_time(epoch: int, reference: int) -> str:
    """Hours and minutes when the day is the alert's own day, else the date too: on-call reads UTC."""
    instant = datetime.fromtimestamp(epoch, UTC)
    same_day = instant.date() == datetime.fromtimestamp(reference, UTC).date()
    return instant.strftime("%H:%M UTC" if same_day else "%Y-%m-%d %H:%M UTC")


def _percent(fraction: float) -> str:
    return f"{round(fraction * 100, 1):g}%"


def alert_summary(alert: Alert, ladder_size: int | None = None) -> str:
    """One line for a pager, a chat channel or an SNS subject; `ladder_size` shows the step as 'page 1/3'."""
    level = f"[{alert.support_level}] " if alert.support_level else ""
    clock = alert.metric if alert.cycle <= 1 else f"{alert.metric} #{alert.cycle}"
    head = f"{level}{alert.ticket_id} {clock}"
    due = f", due {_utc_time(alert.due_at, alert.at)}" if alert.due_at is not None else ""
    # Off duty, the route's fallback was paged (SPEC section 6): the page says for whom it stands in ("page
    # 1/2 oncall-l1 for oncall-l2"), short enough for an SNS subject (99 characters).
    to = alert.route if alert.delivered_to == alert.route else f"{alert.delivered_to} for {alert.route}"
    if alert.kind == "warning":
        used = f" at {_percent(alert.fraction)} of target" if alert.fraction is not None else " at risk"
        return f"{head}{used}{due} — {to}"
    if alert.kind == "trigger":
        step = f"{alert.step + 1}/{ladder_size}" if ladder_size else f"{alert.step + 1}"
        return f"{head} breached{due} — page {step} {to}"
    if alert.kind == "acknowledge":
        return f"{head} breach acknowledged — {alert.route}"
    return f"{head} breach resolved — {alert.route}"
