"""The flow validator: each broken flow produces exactly the located sentence it should."""

from __future__ import annotations

from pathlib import Path

from ivr_helpers import CONFIG, deployment, load, messages

# indented like the flow texts below (8 spaces), which the helper dedents
GOOD_END = """
          agent:
            type: queue
            queue: general
"""


def only(root: Path) -> str:
    found = messages(root)
    assert len(found) == 1, found
    return found[0]


def test_example_deployment_flows_are_valid() -> None:
    loaded = load(CONFIG)
    assert [str(d) for d in loaded.diagnostics] == []
    assert sorted(loaded.sections["ivr"].flows) == ["account", "main"]


def test_dangling_next(tmp_path: Path) -> None:
    root = deployment(tmp_path, {"main": """\
        start: hello
        nodes:
          hello:
            type: play
            prompt: hotline/welcome
            next: agnet
        """ + GOOD_END})
    # 'agent' is cut off only by the typo: one mistake, one error, not one per node behind it
    assert messages(root) == [
        "ivr/main.yaml:6:11: node 'hello' goes to 'agnet', which is not a node of this flow; "
        "did you mean 'agent'?",
    ]


def test_a_node_with_errors_of_its_own_does_not_cut_off_the_nodes_behind_it(
        tmp_path: Path) -> None:
    root = deployment(tmp_path, {"main": """        start: hello
        nodes:
          hello:
            type: play
            prompt: hotline/welcome
            next: ask
          ask:
            type: menu
            prompt: hotline/reason-menu
            options: {1: agent}
            timeout_s: four
            fallback: agent
        """ + GOOD_END})
    assert messages(root) == [
        "ivr/main.yaml:11:16: 'nodes.ask.timeout_s' must be a number, not 'four'"]


def test_unknown_start_node(tmp_path: Path) -> None:
    root = deployment(tmp_path, {"main": "start: begin\nnodes:" + GOOD_END})
    assert only(root) == "ivr/main.yaml:1:8: the start node 'begin' is not a node of this flow"


def test_unreachable_node(tmp_path: Path) -> None:
    root = deployment(tmp_path, {"main": """\
        start: agent
        nodes:
          lost:
            type: hangup
        """ + GOOD_END})
    assert only(root) == ("ivr/main.yaml:3:3: node 'lost' can never be reached from the start "
                          "node 'agent'; link it from another node or delete it")


def test_loop_without_exit(tmp_path: Path) -> None:
    root = deployment(tmp_path, {"main": """\
        start: a
        nodes:
          a:
            type: play
            prompt: hotline/welcome
            next: b
          b:
            type: set
            variables: {n: 1}
            next: a
        """})
    assert only(root) == ("ivr/main.yaml:3:3: nodes a -> b -> a form a loop that callers can "
                          "never leave; add a way out, such as a branch to another node, a "
                          "menu, or a queue")


def test_loop_with_a_way_out_is_fine(tmp_path: Path) -> None:
    root = deployment(tmp_path, {"main": """\
        start: a
        nodes:
          a:
            type: set
            variables: {n: 1}
            next: b
          b:
            type: branch
            conditions:
              - {if: "n > 0", next: agent}
            else: a
        """ + GOOD_END})
    assert messages(root) == []


def test_menu_without_timeout_and_fallback(tmp_path: Path) -> None:
    root = deployment(tmp_path, {"main": """\
        start: menu
        nodes:
          menu:
            type: menu
            prompt: hotline/reason-menu
            options: {1: agent}
        """ + GOOD_END})
    assert messages(root) == [
        "ivr/main.yaml:3:3: menu 'menu' has no timeout_s: a caller who presses nothing would "
        "wait forever; add for example 'timeout_s: 5'",
        "ivr/main.yaml:3:3: menu 'menu' has no fallback: say where callers go after 3 missing "
        "or invalid choices, for example 'fallback: operator'",
    ]


def test_unknown_queue_and_skill(tmp_path: Path) -> None:
    root = deployment(tmp_path, {"main": """\
        start: agent
        nodes:
          agent:
            type: queue
            queue: biling
            skills: {englsh: 5}
        """})
    assert messages(root) == [
        "ivr/main.yaml:5:12: queue 'biling' is not defined in routing.yaml; did you mean "
        "'billing'?",
        "ivr/main.yaml:6:14: skill 'englsh' is not defined in routing.yaml; did you mean "
        "'english'?",
    ]


def test_unknown_calendar_in_condition(tmp_path: Path) -> None:
    root = deployment(tmp_path, {"main": """\
        start: hours
        nodes:
          hours:
            type: branch
            conditions:
              - if: "open('ofice')"
                next: agent
            else: agent
        """ + GOOD_END})
    assert only(root) == ("ivr/main.yaml:6:13: node 'hours' uses calendar 'ofice', which is "
                          "not defined in hours.yaml; did you mean 'office'?")


def test_variable_read_before_set_on_some_path(tmp_path: Path) -> None:
    root = deployment(tmp_path, {"main": """\
        start: ask
        nodes:
          ask:
            type: menu
            prompt: hotline/reason-menu
            options: {1: account, 2: agent}
            timeout_s: 5
            fallback: agent
          account:
            type: gather
            prompt: hotline/enter-account
            store: account
            next: agent
          agent:
            type: queue
            queue: billing
            attributes: {account: account}
        """})
    assert only(root) == (
        "ivr/main.yaml:17:27: node 'agent' reads variable 'account', which is not set on "
        "every path that leads here; set it on each path before, or read it only after the "
        "node that sets it")


def test_variable_never_set(tmp_path: Path) -> None:
    root = deployment(tmp_path, {"main": """\
        start: agent
        nodes:
          agent:
            type: queue
            queue: general
            priority: "prio + 1"
        """})
    assert only(root) == ("ivr/main.yaml:6:15: node 'agent' reads variable 'prio', which no "
                          "node sets")


def test_bad_pattern(tmp_path: Path) -> None:
    root = deployment(tmp_path, {"main": """\
        start: account
        nodes:
          account:
            type: gather
            prompt: hotline/enter-account
            store: account
            pattern: "[0-9{10}"
            next: agent
        """ + GOOD_END})
    assert only(root) == ("ivr/main.yaml:7:14: the pattern '[0-9{10}' is not a valid regular "
                          "expression: unterminated character set at position 0")


def test_bad_expression_is_located(tmp_path: Path) -> None:
    root = deployment(tmp_path, {"main": """\
        start: check
        nodes:
          check:
            type: branch
            conditions:
              - {if: "len(caller_id) >", next: agent}
            else: agent
        """ + GOOD_END})
    assert only(root) == (
        "ivr/main.yaml:6:14: in node 'check', 'len(caller_id) >' is not a valid expression: "
        "expected a value (a name, a number or text in quotes) at character 17, found the end")


def test_missing_prompt_file_when_sounds_dir_is_set(tmp_path: Path) -> None:
    sounds = tmp_path / "sounds"
    (sounds / "en" / "hotline").mkdir(parents=True)
    (sounds / "en" / "hotline" / "welcome.wav").write_bytes(b"RIFF")
    root = deployment(tmp_path, {"main": """\
        start: hello
        nodes:
          hello:
            type: play
            prompt: [hotline/welcome, hotline/welcom]
            next: agent
        """ + GOOD_END}, sounds_dir=str(sounds))
    assert only(root) == (
        f"ivr/main.yaml:5:31: prompt 'hotline/welcom' has no sound file in {sounds} (looked for "
        "en/hotline/welcom and hotline/welcom, as .wav, .gsm, .ulaw, ...)")


def test_unknown_node_type_and_key(tmp_path: Path) -> None:
    root = deployment(tmp_path, {"main": """\
        start: hello
        nodes:
          hello:
            type: pley
            prompt: hotline/welcome
            next: agent
          agent:
            type: queue
            queue: general
            priorty: 3
        """})
    assert messages(root) == [
        "ivr/main.yaml:4:11: node 'hello' has unknown type 'pley'; did you mean 'play'?",
        "ivr/main.yaml:10:5: unknown key 'priorty' in 'nodes.agent'; did you mean 'priority'?",
    ]


def test_subflow_that_does_not_exist_and_recursion(tmp_path: Path) -> None:
    main = """\
        start: sub
        nodes:
          sub:
            type: subflow
            flow: acount
            next: agent
        """ + GOOD_END
    circle = "start: s\nnodes:\n  s:\n    type: subflow\n    flow: {}\n    next: r\n" \
             "  r:\n    type: return\n"
    root = deployment(tmp_path, {"main": main, "a": circle.format("b"), "b": circle.format("a")})
    assert messages(root) == [
        "ivr/a.yaml:5:11: flows a -> b -> a call each other in a circle; a subflow cannot call "
        "the flow that called it",
        "ivr/main.yaml:5:11: node 'sub' calls flow 'acount', which does not exist",
    ]


def test_no_fallback_and_no_default_queue(tmp_path: Path) -> None:
    routing = (CONFIG / "routing.yaml").read_text().replace("  default_queue: general\n", "")
    root = deployment(tmp_path, {"main": "start: agent\nnodes:" + GOOD_END}, routing=routing)
    assert only(root) == (
        "ivr/main.yaml:1:1: this flow declares no 'fallback' and routing.yaml has no "
        "settings.default_queue, so a call that fails here would have nowhere to go; add "
        "'fallback: <node>' to the flow")


def test_language_must_be_declared(tmp_path: Path) -> None:
    root = deployment(tmp_path, {"main": """\
        languages: [de]
        start: lang
        nodes:
          lang:
            type: language
            language: fr
            next: agent
        """ + GOOD_END})
    assert only(root) == ("ivr/main.yaml:6:15: language 'fr' is not one of this flow's "
                          "languages (de); add it to 'languages' at the top")


def test_flows_with_errors_are_left_out_of_the_flowset(tmp_path: Path) -> None:
    root = deployment(tmp_path, {
        "good": "start: agent\nnodes:" + GOOD_END,
        "bad": "start: agent\nnodes:\n  agent:\n    type: queue\n    queue: nope\n",
    })
    loaded = load(root)
    assert sorted(loaded.sections["ivr"].flows) == ["good"]
    assert len(loaded.diagnostics.errors) == 1


def test_the_example_in_the_docs_is_valid_and_passes_its_test(tmp_path: Path) -> None:
    from ivr.loader import load_flows
    from ivr.tester import run_tests

    text = (CONFIG.parent / "docs" / "ivr.md").read_text()
    example = text.split("```yaml\n", 1)[1].split("```", 1)[0]
    root = deployment(tmp_path, {"example": example})
    assert messages(root) == []
    flows, _ = load_flows(root)
    reports = run_tests(flows)
    assert [(r.name, r.problems) for r in reports] == [("gold customer with an outage", ())]


def test_a_set_node_may_read_what_it_set_just_before(tmp_path: Path) -> None:
    root = deployment(tmp_path, {"main": """\
        start: calc
        nodes:
          calc:
            type: set
            variables: {base: 2, double: "base * 2", wrong: "later + 1", later: 1}
            next: agent
        """ + GOOD_END})
    assert only(root) == ("ivr/main.yaml:5:53: node 'calc' reads variable 'later', which is "
                          "not set on every path that leads here; set it on each path before, "
                          "or read it only after the node that sets it")


def test_dangling_menu_option_is_located_at_its_target(tmp_path: Path) -> None:
    root = deployment(tmp_path, {"main": """\
        start: menu
        nodes:
          menu:
            type: menu
            prompt: hotline/reason-menu
            options:
              1: agent
              0: operater
            timeout_s: 5
            fallback: agent
        """ + GOOD_END})
    assert only(root) == ("ivr/main.yaml:8:10: node 'menu' goes to 'operater', which is not a "
                          "node of this flow")
