"""``--format markdown`` through GitHub's renderer: no log value becomes HTML, a link or mention."""

from __future__ import annotations

import dataclasses
import html
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import cmarkgfm
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from diagnostics.model import Diagnosis, Failure, Finding, Fix, Risk, SourceRef
from diagnostics.render import markdown
from diagnostics.text.safe import _UNSAFE, line

AUTHZ_DIAG = str(Path(sys.executable).parent / "authz-diag")

#: The review's examples, and what else a log writer might try in a job summary.
HOSTILE = [
    "arn:aws:s3:::b/<img/src=https://x.example/t.png><!--",
    '<a href="https://x.example/">click</a>',
    "</summary></details><script>alert(1)</script><details><summary>",
    "https://x.example/t.png and www.x.example and HTTP://X.EXAMPLE",
    "@octocat @org/team alice@example.com mailto:a@b.example",
    "![t](https://x.example/t.png) [fix](https://x.example) <https://x.example>",
    "&lt;img src=x&gt; &#60;img src=x&#62; &amp;",
    "x` <img src=x> `` ``` | \\| \\",
    "<!DOCTYPE x><?php ?><![CDATA[ <img src=x> ]]>",
    "\n</details>\n\n<img src=https://x.example/t.png>\n# forged\n| 9 | forged |",
    "    indented\n- item\n1. item\n===\n> quote",
    "\u200d@\u200doctocat \u202e",
]

#: Tags the renderer writes for the tool's own layout; anything else came from a log.
OWN_TAGS = {
    "h3",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "details",
    "summary",
    "ul",
    "li",
    "strong",
    "code",
    "p",
    "pre",
    "blockquote",
}
#: The only attribute the tool's own markup carries: a fenced block's language.
OWN_ATTRS = {("pre", "lang", "json")}

# What GitHub turns into a mention (after the HTML is built, outside code) and
# what its autolink extension turns into a link.
_MENTION = re.compile(r"@[A-Za-z0-9]")
_LINKY = re.compile(r"://|www\.", re.I)
# Any character safe.line escapes, except the newlines between Markdown lines.
_RAW = re.compile(_UNSAFE.pattern.replace("\x00-\x1f", "\x00-\x09\x0b-\x1f"))


@dataclass
class _Html(HTMLParser):
    """What a browser would build from the rendered HTML: tags, comments and text."""

    tags: list[tuple[str, list[tuple[str, str | None]]]] = field(default_factory=list)
    foreign: list[str] = field(default_factory=list)
    #: Text outside <code>/<pre>, where GitHub links mentions and URLs.
    prose: list[str] = field(default_factory=list)
    summaries: list[str] = field(default_factory=list)
    html: str = ""
    _code: int = 0
    _summary: list[str] | None = None

    def __post_init__(self) -> None:
        super().__init__(convert_charrefs=True)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))
        if tag in ("code", "pre"):
            self._code += 1
        if tag == "summary":
            self._summary = []

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))

    def handle_endtag(self, tag: str) -> None:
        if tag in ("code", "pre"):
            self._code -= 1
        if tag == "summary" and self._summary is not None:
            self.summaries.append("".join(self._summary))
            self._summary = None

    def handle_data(self, data: str) -> None:
        if not self._code:
            self.prose.append(data)
        if self._summary is not None:
            self._summary.append(data)

    def handle_comment(self, data: str) -> None:
        self.foreign.append(f"<!--{data}")

    def handle_decl(self, decl: str) -> None:
        self.foreign.append(f"<!{decl}>")

    def handle_pi(self, data: str) -> None:
        self.foreign.append(f"<?{data}>")

    def unknown_decl(self, data: str) -> None:
        self.foreign.append(f"<![{data}")


def _html(text: str) -> str:
    # UNSAFE keeps raw HTML, as GitHub's job summary keeps img, a and details.
    return str(
        cmarkgfm.github_flavored_markdown_to_html(text, options=cmarkgfm.Options.CMARK_OPT_UNSAFE)
    )


def _parsed(text: str) -> _Html:
    page = _Html()
    page.feed(_html(text))
    page.close()
    page.html = _html(text)
    return page


def _assert_inert(text: str, count: int) -> _Html:
    """No foreign markup, link or mention; ``count`` sections in order, each with its fix."""
    # The only raw format character is the joiner the tool writes after "@".
    assert _RAW.search(text.replace("@\u200d", "@")) is None
    page = _parsed(text)
    assert page.foreign == []
    foreign = [t for t, _ in page.tags if t not in OWN_TAGS]
    assert foreign == []
    attrs = {(t, k, v) for t, a in page.tags for k, v in a}
    assert attrs <= OWN_ATTRS
    prose = "".join(page.prose)
    assert _MENTION.search(prose) is None
    assert _LINKY.search(prose) is None
    # Every failure's section survives whatever came before it: its summary,
    # its table row and its fix.
    assert [s.split(" ", 1)[0] for s in page.summaries] == [f"#{i}" for i in range(1, count + 1)]
    tags = [t for t, _ in page.tags]
    assert tags.count("details") == count
    assert tags.count("tr") == count + 1
    sections = page.html.split("<details>")[1:]
    assert all("<pre" in s and "</details>" in s for s in sections)
    return page


def _diagnosis(value: str, n: int = 1) -> Diagnosis:
    """A diagnosis with ``value`` in every field a log writer controls."""
    failure = Failure(
        kind="plain",
        source=SourceRef(f"app{value}.log", n, event_id=f"e{value}", rotated_from=value),
        principal_arn=f"arn:aws:iam::111122223333:user/{value}",
        account_id="111122223333",
        action=f"s3:Get{value}",
        resource=f"arn:aws:s3:::b/{value}",
        policy_type="identity",
        policy_arn=f"arn:aws:iam::111122223333:policy/{value}",
        explicit_deny=True,
        operation=f"Get{value}",
        error_code=f"AccessDenied{value}",
        excerpt=f"sample {value}",
        principal_text=value,
        parse_notes=(f"note {value}",),
        resource_text=value,
        embedded=True,
    )
    fix = Fix(
        "identity",
        f"arn:aws:iam::111122223333:user/{value}",
        ({"Action": f"s3:{value}", "Resource": value},),
        # The severity comes from the catalogue, never from the log.
        (Risk(value, "high", f"risk {value}"),),
    )
    finding = Finding(value, f"title {value}", "high", f"explanation {value}", (fix,))
    return Diagnosis(
        failure,
        decode_error=f"decode {value}",
        findings=(finding,),
        occurrences=3,
        authorization_error=f"troubleshooter {value}",
    )


def _plain(n: int) -> Diagnosis:
    """An ordinary failure, to show sections after a hostile one still render."""
    return _diagnosis("ok", n)


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_values_render_no_html_link_or_mention_and_hide_no_section(value: str) -> None:
    """A hostile value renders no image, link, comment, script or mention, and hides no failure."""
    page = _assert_inert(markdown.render([_plain(1), _diagnosis(value, 2), _plain(3)]), 3)
    assert "explanation ok" in "".join(page.prose)


# Pieces of markup (HTML, Markdown, GFM autolinks and mentions) and arbitrary text.
_PIECES = st.sampled_from(
    [
        "<",
        ">",
        "<img src=x>",
        "<a href=",
        "<!--",
        "-->",
        "</details>",
        "<summary>",
        "<script>",
        "&",
        "&lt;",
        "&#60;",
        '"',
        "`",
        "```",
        "|",
        "\\",
        "*",
        "_",
        "~",
        "[",
        "](",
        "!",
        "#",
        "\n",
        " ",
        "    ",
        "@",
        "@octocat",
        "@org/team",
        "a@b.example",
        "://",
        "https://x.example",
        "www.",
        "WWW.x.example",
        "mailto:",
        "\u200d",
        "\u202e",
    ]
)
_HOSTILE_TEXT = st.lists(_PIECES | st.text(max_size=4), min_size=1, max_size=12).map("".join)


@settings(deadline=None, max_examples=150)
@given(_HOSTILE_TEXT)
def test_any_hostile_value_stays_inert_between_ordinary_failures(value: str) -> None:
    """Whatever a log writer puts in a field, every section stays and none of their markup shows."""
    _assert_inert(markdown.render([_plain(1), _diagnosis(value, 2), _plain(3)]), 3)


def _code_texts(page_html: str) -> list[str]:
    return [html.unescape(m) for m in re.findall(r"<code>(.*?)</code>", page_html, re.S)]


@settings(deadline=None, max_examples=150)
@given(_HOSTILE_TEXT)
def test_arns_show_exactly_as_logged_in_the_table_summary_and_section(value: str) -> None:
    """The principal and resource read exactly as logged (terminal-escaped), in every place."""
    d = _diagnosis(value)
    codes = _code_texts(_html(markdown.render([d])))
    principal = line(d.failure.principal_arn, limit=300)
    resource = line(d.failure.resource, limit=300)
    # The table row, the summary and the section's Who line.
    assert codes.count(principal) >= 2
    assert codes.count(resource) >= 2


def _broken(value: str) -> str:
    """What a sentence should read as: ``safe.line``'s text, links and mentions broken."""
    text = re.sub(r"(www)\.", r"\1[.]", line(value).strip(" ").replace("://", "[:]//"), flags=re.I)
    return text.replace("@", "@\u200d")


@settings(deadline=None, max_examples=150)
@given(_HOSTILE_TEXT)
def test_explanations_read_as_written(value: str) -> None:
    """An explanation quoting a log value reads as written, only links and mentions broken."""
    d = _diagnosis(value)
    # Alone, the value starts the paragraph: it must not open a heading or a list.
    d = dataclasses.replace(d, findings=(dataclasses.replace(d.findings[0], explanation=value),))
    page = _parsed(markdown.render([d]))
    assert _broken(value) in "".join(page.prose)
    assert not {"h1", "h2", "h4", "ol", "hr"} & {t for t, _ in page.tags}


def test_scan_of_a_hostile_log_renders_every_failure(tmp_path: Path) -> None:
    """``scan --format markdown`` of a log with an image, a link and mentions keeps every fix."""
    evil = "<img/src=https://x.example/t.png><!--"
    records = [
        {
            "eventVersion": "1.08",
            "eventTime": "2024-05-01T12:00:00Z",
            "eventSource": "s3.amazonaws.com",
            "eventName": "GetObject",
            "awsRegion": "us-east-1",
            "errorCode": "AccessDenied",
            "errorMessage": "Access Denied",
            "userIdentity": {
                "type": "IAMUser",
                "arn": "arn:aws:iam::111122223333:user/@octocat",
                "accountId": "111122223333",
            },
            "requestParameters": {"bucketName": "b", "key": f"k{evil}"},
            "recipientAccountId": "111122223333",
            "eventID": f"e1{evil}",
        }
    ]
    # A file name cannot hold "/": the image, comment, link and mention without one.
    name = "trail<img src=x.example onerror=alert(1)><!--@octocat www.x.example.json"
    (tmp_path / name).write_bytes(orjson.dumps({"Records": records}))
    (tmp_path / "apply.log").write_text(
        "User: arn:aws:iam::111122223333:user/www.x.example is not authorized to perform: "
        f"s3:GetObject on resource: arn:aws:s3:::b/{evil} because no identity-based policy "
        "allows the s3:GetObject action\n"
        '<a href="https://x.example/">User: arn:aws:iam::111122223333:user/@org/team is not '
        "authorized to perform: s3:PutObject on resource: arn:aws:s3:::ok/k because no "
        "identity-based policy allows the s3:PutObject action\n"
    )
    proc = subprocess.run(
        [AUTHZ_DIAG, "scan", "--no-decode", "--format", "markdown", str(tmp_path)],
        capture_output=True,
        timeout=120,
        check=False,
        env={**os.environ, "AWS_EC2_METADATA_DISABLED": "true"},
    )
    assert proc.returncode == 1, proc.stderr
    out = proc.stdout.decode()
    _assert_inert(out, 3)
    assert "s3:PutObject" in out  # the failure after the hostile ones, with its fix
