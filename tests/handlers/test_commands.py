"""The command parser: every verb, every rejection, quoting, code fences and quotes."""
import pytest

from handlers.commands import Command, CommandError, parse


def error_of(body: str) -> CommandError:
    result = parse(body)
    assert isinstance(result, CommandError), result
    return result


@pytest.mark.parametrize("body", [
    "", "thanks!", "see /scenarioforge help", "/scenarioforgehelp",
    "```\n/scenarioforge help\n```", "~~~~\n/scenarioforge help\n```\n~~~~",
    "> /scenarioforge generate", "    /scenarioforge help",
])
def test_no_command(body):
    assert parse(body) is None


@pytest.mark.parametrize("verb", ["help", "status", "cancel", "confirm"])
def test_verbs_without_flags(verb):
    assert parse(f"/scenarioforge {verb}") == Command(verb=verb, line=f"/scenarioforge {verb}")


def test_first_command_line_counts_outside_fences_and_quotes():
    body = (
        "Let's try again.\n> /scenarioforge cancel\n```sh\n/scenarioforge execute\n```\n"
        "  /scenarioforge status  \n/scenarioforge help\n"
    )
    assert parse(body) == Command(verb="status", line="/scenarioforge status")


def test_generate_flags_then_verbatim_text():
    line = '/scenarioforge generate --update --branch "feature/login" "focus on login" and signup'
    command = parse(line)
    assert command == Command(
        verb="generate", line=line, update=True, branch="feature/login", text='"focus on login" and signup',
    )
    assert command.args() == {"update": True, "branch": "feature/login", "text": '"focus on login" and signup'}


@pytest.mark.parametrize(("line", "update", "branch", "text"), [
    ("/scenarioforge generate add the user's refund flow", False, None, "add the user's refund flow"),
    ("/scenarioforge generate cover the --branch option docs", False, None, "cover the --branch option docs"),
    ("/scenarioforge generate --branch 'it''s/x' don't --update", False, "its/x", "don't --update"),
    ("/scenarioforge generate --update   keep  #12's   spacing", True, None, "keep  #12's   spacing"),
    ("/scenarioforge generate --branch=dev -- --update is a word here", False, "dev", "--update is a word here"),
    ("/scenarioforge generate --update", True, None, ""),
])
def test_generate_text_is_everything_after_the_flags(line, update, branch, text):
    command = parse(line)
    assert (command.update, command.branch, command.text) == (update, branch, text)


def test_generate_defaults():
    assert parse("/scenarioforge generate").args() == {"update": False, "branch": None, "text": ""}


def test_execute_flags():
    command = parse("/scenarioforge execute --mode full --scenarios SC-1,checkout.2 --revision 3")
    assert (command.mode, command.scenarios, command.revision) == ("full", ("SC-1", "checkout.2"), 3)
    assert command.args() == {"mode": "full", "scenarios": ["SC-1", "checkout.2"], "revision": 3, "repeat": None,
                              "allow_test_changes": False, "resume": None}
    assert parse("/scenarioforge execute").args() == {"mode": None, "scenarios": [], "revision": None,
                                                      "repeat": None, "allow_test_changes": False,
                                                      "resume": None}
    command = parse("/scenarioforge execute --repeat 3 --allow-test-changes")
    assert (command.args()["repeat"], command.args()["allow_test_changes"]) == (3, True)
    assert parse("/scenarioforge execute --resume 12").args()["resume"] == 12


def test_sources_include_and_exclude_repeat():
    command = parse("/scenarioforge sources --include 'docs/a b.md' specs/*.md --exclude old/** --include x.md")
    assert command.include == ("docs/a b.md", "specs/*.md", "x.md")
    assert command.exclude == ("old/**",)


@pytest.mark.parametrize(("line", "problem", "verb"), [
    ("/scenarioforge", "no verb given", None),
    ("/scenarioforge deploy", "unknown verb 'deploy'", None),
    ("/scenarioforge help me", "unrecognized arguments: me", "help"),
    ("/scenarioforge status --all", "unrecognized arguments: --all", "status"),
    ("/scenarioforge confirm --force", "unrecognized arguments: --force", "confirm"),
    ("/scenarioforge generate --token abc", "unrecognized arguments: --token", "generate"),
    ("/scenarioforge generate --branch", "argument --branch: expected one argument", "generate"),
    ("/scenarioforge generate --branch=--upload-pack=x", "is not a valid branch name", "generate"),
    ("/scenarioforge generate --branch 'a b'", "is not a valid branch name", "generate"),
    ("/scenarioforge generate --upd", "unrecognized arguments: --upd", "generate"),
    ("/scenarioforge execute --mode deploy", "invalid choice: 'deploy'", "execute"),
    ("/scenarioforge execute --mode", "expected one argument", "execute"),
    ("/scenarioforge execute --revision two", "must be a whole number ≥ 1, got 'two'", "execute"),
    ("/scenarioforge execute --revision 0", "must be a whole number ≥ 1, got '0'", "execute"),
    ("/scenarioforge execute --revision -1", "got '-1'", "execute"),
    ("/scenarioforge execute --scenarios SC-1,,SC-2", "invalid scenario id ''", "execute"),
    ("/scenarioforge execute --repeat 0", "must be a whole number from 1 to 20, got '0'", "execute"),
    ("/scenarioforge execute --repeat 21", "must be a whole number from 1 to 20, got '21'", "execute"),
    ("/scenarioforge execute --scenarios 'SC 1'", "invalid scenario id 'SC 1'", "execute"),
    ("/scenarioforge execute --resume last", "argument --resume: must be a whole number ≥ 1, got 'last'",
     "execute"),
    ("/scenarioforge execute --resume", "argument --resume: expected one argument", "execute"),
    ("/scenarioforge execute --resume 4 --mode fix --repeat 2", "--resume cannot be combined with --mode, --repeat: "
     "the resumed run keeps its mode, scenarios, revision, repeat and test-change rule", "execute"),
    ("/scenarioforge execute --sandbox off", "unrecognized arguments: --sandbox off", "execute"),
    ("/scenarioforge execute --base-url http://evil", "unrecognized arguments", "execute"),
    ("/scenarioforge sources --include", "expected at least one argument", "sources"),
    ('/scenarioforge generate --branch "unclosed', "cannot split the line: No closing quotation", "generate"),
    ("/scenarioforge sources --include 'a b", "cannot split the line: No closing quotation", "sources"),
    ("/scenarioforge generate --update --branch", "argument --branch: expected one argument", "generate"),
])
def test_errors(line, problem, verb):
    error = error_of(f"Please:\n{line}\nthanks")
    assert error.line == line
    assert problem in error.problem
    assert error.verb == verb
    assert error.usage.startswith("/scenarioforge")
    assert ("\n" in error.usage) == (verb is None)
