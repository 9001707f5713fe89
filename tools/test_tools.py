"""Unit tests for tools/dstest and tools/dslogs (run by `make test`).

  /usr/bin/python3 -m unittest discover -s tools -p 'test_*.py'
"""
import importlib.machinery
import importlib.util
import io
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import unittest
from contextlib import redirect_stdout
from html.parser import HTMLParser

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def read_text(path):
    with open(path) as f:
        return f.read()


def load(name):
    loader = importlib.machinery.SourceFileLoader(name, os.path.join(HERE, name))
    spec = importlib.util.spec_from_loader(name, loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod


dslogs = load("dslogs")

SAMPLE = """Running suite(s): raft
000000 TEST disconnect S0
000000 TEST start S0
000001 TEST start S1
000002 TEST start S2
000003 TEST connect S0
000003 TEST connect S1
000003 TEST connect S2
Test (2B): leader backs up quickly over incorrect follower logs ...
000010 TEST Test (2B): leader backs up quickly over incorrect follower logs
003000 TERM S1 T0 follower -> T1 candidate
003000 VOTE S1 election for T1, last 0/T0
003010 TERM S0 T0 follower -> T1 follower
003011 VOTE S0 granted vote to S1 for T1
003020 TERM S1 T1 candidate -> T1 leader
003020 LEAD S1 leader for T1 with 2 votes, log (0..0]
004000 LOG1 S1 -> S0 AppendEntries prev 0/T0, 1 entries, commit 0
004100 CMIT S1 commit 0 -> 1
004200 CMIT S0 commit 0 -> 1
009000 TEST disconnect S1
012000 TEST crash S2
015000 TERM S0 T1 follower -> T2 candidate
015000 VOTE S0 election for T2, last 1/T1
015500 TERM S0 T2 candidate -> T2 follower
016000 TEST start S2
017000 TEST connect S1
  ... Passed --   1.7  3   20    3000    1
100%: Checks: 1, Failures: 0, Errors: 0
"""


class TestDslogs(unittest.TestCase):
    def run_dslogs(self, *args, data=SAMPLE):
        with tempfile.NamedTemporaryFile("w", suffix=".log", delete=False) as f:
            f.write(data)
        try:
            out = io.StringIO()
            with redirect_stdout(out):
                rc = dslogs.main([f.name, "--no-color", *args])
            return rc, out.getvalue()
        finally:
            os.unlink(f.name)

    def test_columns_put_each_peer_in_its_column(self):
        rc, out = self.run_dslogs("-c", "3")
        self.assertEqual(rc, 0)
        lines = out.splitlines()
        s1 = next(l for l in lines if "S1 election for T1" in l)
        s0 = next(l for l in lines if "S0 granted vote" in l)
        self.assertGreater(s1.index("S1 election"), s0.index("S0 granted"))
        # TEST lines and non-log lines run across the width, unchanged.
        self.assertTrue(any(l.startswith("TEST crash S2") for l in lines))
        self.assertIn("  ... Passed --   1.7  3   20    3000    1", lines)
        self.assertTrue(any(set(l) == {"#"} for l in lines))

    def test_just_and_ignore(self):
        _, out = self.run_dslogs("--just", "VOTE")
        self.assertIn("S1 election for T1", out)
        self.assertNotIn("leader for T1", out)
        _, out = self.run_dslogs("--ignore", "VOTE,TEST")
        self.assertNotIn("election", out)
        self.assertIn("leader for T1", out)

    def test_unknown_topic_is_an_error(self):
        with self.assertRaises(SystemExit):
            with redirect_stdout(io.StringIO()), open(os.devnull, "w") as null:
                old, sys.stderr = sys.stderr, null
                try:
                    dslogs.main(["--just", "NOPE"])
                finally:
                    sys.stderr = old

    def test_html_page_parses_and_has_a_lane_per_peer(self):
        with tempfile.TemporaryDirectory() as d:
            page = os.path.join(d, "run.html")
            rc, _ = self.run_dslogs("-c", "3", "--html", page)
            self.assertEqual(rc, 0)
            text = read_text(page)

        class Collect(HTMLParser):
            def __init__(self):
                super().__init__()
                self.lanes, self.segs, self.stack = [], [], []

            def handle_starttag(self, tag, attrs):
                a = dict(attrs)
                self.stack.append(tag)
                if tag == "g" and a.get("class") == "lane":
                    self.lanes.append(a["data-peer"])
                if tag == "rect":
                    self.segs.append(a.get("class", ""))

            def handle_endtag(self, tag):
                if self.stack and self.stack[-1] == tag:
                    self.stack.pop()

        p = Collect()
        p.feed(text)
        p.close()
        self.assertEqual(p.lanes, ["0", "1", "2"])
        self.assertIn("seg leader", p.segs)
        self.assertIn("seg candidate", p.segs)
        self.assertIn("down", p.segs)   # S2's crash
        self.assertIn("cut", p.segs)    # S1's disconnection
        self.assertIn('class="commit"', text)
        self.assertIn("leader backs up quickly", text)

    def test_role_lines_drive_the_lanes(self):
        events = list(dslogs.parse(SAMPLE.splitlines()))
        lanes, end, marks = dslogs.timeline(events, 3)
        s0 = [(role, term) for _, _, role, term in lanes[0]["segs"]]
        # S0 stood in T2 and stepped down on hearing T2's leader: a
        # follower again, not a candidate for the rest of the run.
        self.assertEqual(s0[-2:], [("candidate", 2), ("follower", 2)])
        s1 = [(role, term) for _, _, role, term in lanes[1]["segs"]]
        self.assertEqual(s1[:3], [("follower", 0), ("candidate", 1), ("leader", 1)])
        self.assertEqual(marks, [])

    def test_nothing_before_a_peers_first_start(self):
        # start1 disconnects a peer before starting it: no red at t=0.
        events = list(dslogs.parse(SAMPLE.splitlines()))
        lanes, _, _ = dslogs.timeline(events, 3)
        self.assertEqual(lanes[0]["cut"], [])
        self.assertEqual([c[0] for c in lanes[1]["cut"]], [900.0])

    def test_short_candidacy_is_visible(self):
        text = self.page(SAMPLE)
        widths = [float(w) for w in re.findall(r'class="seg candidate" x="[\d.]+" y="\d+" '
                                               r'width="([\d.]+)"', text)]
        self.assertTrue(widths)
        self.assertGreaterEqual(min(widths), 3.0)  # S1's 2 ms candidacy

    def test_commit_index_has_a_scale(self):
        text = self.page(SAMPLE)
        self.assertIn('class="scale">1</text>', text)
        self.assertIn("commit index (0 to 1, the same scale on every lane)", text)

    def test_nemesis_marks_and_verdict(self):
        log = SAMPLE + "020000 TEST nemesis: partition S2\n020100 TEST verdict: OK: all good\n"
        text = self.page(log)
        self.assertIn('class="mark">partition S2</text>', text)
        self.assertIn('<div class="verdict ok">verdict: OK: all good</div>', text)
        text = self.page(SAMPLE + "020100 TEST verdict: VIOLATION: two leaders in term 3\n")
        self.assertIn('<div class="verdict bad">verdict: VIOLATION: two leaders', text)

    def test_topic_colours_are_readable_on_the_page(self):
        def luminance(hexcolour):
            rgb = [int(hexcolour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
            lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
            return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]
        self.assertEqual(set(dslogs.PAGE_TOPICS), set(dslogs.TOPICS))
        for topic, colour in dslogs.PAGE_TOPICS.items():
            for background in ("#ffffff", "#fdecf2"):  # a cell, a TEST row
                ratio = (luminance(background) + 0.05) / (luminance(colour) + 0.05)
                self.assertGreaterEqual(ratio, 4.5, f"{topic} {colour} on {background}")
        text = self.page(SAMPLE)
        self.assertNotIn("color:#ffffff", text)

    def page(self, log):
        with tempfile.TemporaryDirectory() as d:
            page = os.path.join(d, "run.html")
            rc, _ = self.run_dslogs("-c", "3", "--html", page, data=log)
            self.assertEqual(rc, 0)
            return read_text(page)

    def cli(self, *args):
        return subprocess.run([os.path.join(HERE, "dslogs"), *args], capture_output=True,
                              text=True, input="")

    def html_page(self, data):
        with tempfile.TemporaryDirectory() as d:
            page = os.path.join(d, "run.html")
            rc, _ = self.run_dslogs("-c", "3", "--html", page, data=data)
            self.assertEqual(rc, 0)
            return read_text(page)

    def test_failed_run_shows_its_failure_on_top_and_alerts_on_the_timeline(self):
        data = SAMPLE.replace("  ... Passed --   1.7  3   20    3000    1\n", "").replace(
            "100%: Checks: 1, Failures: 0, Errors: 0\n",
            "017500 WARN S2 slow reply from S0\n"
            "018000 ERRO S1 log mismatch at 4\n"
            "--- FAIL: TestBackup2B (1.80s)\n"
            "    test_test.c:43: config.c:577: expected one leader, got none\n"
            "    seed: SEED=5\n")
        text = self.html_page(data)
        self.assertIn('<div class="verdict bad">FAIL: TestBackup2B: test_test.c:43: config.c:577: '
                      'expected one leader, got none (at 1.8000 s, the last log line before the '
                      'failure)</div>', text)
        self.assertLess(text.index("verdict bad"), text.index("<svg"))
        self.assertRegex(text, r'<circle class="alert WARN" [^>]*><title>1\.7500 s: WARN S2 slow')
        self.assertRegex(text, r'<circle class="alert ERRO" [^>]*><title>1\.8000 s: ERRO S1 log')
        self.assertIn('<g class="failed">', text)

    def test_simulator_report_beats_checks_early_exit(self):
        data = SAMPLE.replace("  ... Passed --   1.7  3   20    3000    1\n", "").replace(
            "100%: Checks: 1, Failures: 0, Errors: 0\n",
            "fatal error: thread 2 [applier_main] calls chan_send while holding rf->mu\n"
            "--- FAIL: TestBackup2B (0.08s)\n"
            "    test_test.c:1152: (after this point) Early exit with return value 2\n"
            "dstest: FAIL: TestBackup2B (SEED=4): fatal error: thread 2 ...\n")
        text = self.html_page(data)
        self.assertIn('<div class="verdict bad">FAIL: fatal error: thread 2 [applier_main] calls '
                      'chan_send while holding rf-&gt;mu (at 1.7000 s', text)

    def test_passing_run_has_no_failure_band(self):
        text = self.html_page(SAMPLE)
        self.assertNotIn("verdict bad", text)
        self.assertNotIn('class="failed"', text)

    def test_missing_file_is_one_line_and_exit_1(self):
        r = self.cli("/nonexistent/run.log")
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stderr, "dslogs: cannot read /nonexistent/run.log: No such file or directory\n")

    def test_unwritable_html_is_one_line_and_exit_1(self):
        r = self.cli("--html", "/nonexistent/run.html")
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stderr, "dslogs: cannot write /nonexistent/run.html: No such file or directory\n")

    def test_bad_columns_refused(self):
        for bad, why in (("-1", "want 0 to 64 columns, not -1"), ("x", "'x' is not a number")):
            r = self.cli("-c", bad)
            self.assertEqual(r.returncode, 2)
            self.assertIn(why, r.stderr)


def marked_processes(mark):
    """The test processes (build/plain/tests) whose environment holds
    DSTEST_MARK=mark."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/environ", "rb") as f:
                env = f.read().split(b"\0")
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read()
        except OSError:
            continue
        if f"DSTEST_MARK={mark}".encode() in env and b"build/plain/tests" in cmd:
            found.append(int(pid))
    return found


class TestNotesNameRealFunctions(unittest.TestCase):
    """Every function notes.md (and the handout's notes) names in backquotes,
    `like_this()`, exists in the sources: the notes cannot go stale."""

    def sources(self):
        text = []
        for d, dirs, files in os.walk(ROOT):
            dirs[:] = [x for x in dirs if x not in ("build", ".git")]
            text += [read_text(os.path.join(d, f)) for f in files
                     if f.endswith((".c", ".h")) or f in ("dstest", "dslogs")]
        return "\n".join(text)

    def test_every_named_function_exists(self):
        src = self.sources()
        for notes in ("notes.md", "handout/notes.md", "README.md", "handout/README.md"):
            path = os.path.join(ROOT, notes)
            if not os.path.exists(path):
                continue
            for name in sorted(set(re.findall(r"`([A-Za-z_]\w*)\(\)`", read_text(path)))):
                self.assertTrue(re.search(rf"\b{name}\b", src),
                                f"{notes} names {name}(), which is in no source file")



class TestMakeRun(unittest.TestCase):
    """RUN reaches the runner as typed: make must not expand a `$` in it
    (`RUN='2A$|kill_test'` once lost its `$|`, and with it every test after)."""

    def test_dollar_in_run_is_kept(self):
        for target in ("test", "tsan", "asan", "sim"):
            r = subprocess.run(["make", "-n", target, "RUN=2A$|kill_test"], cwd=ROOT,
                               capture_output=True, text=True, timeout=60)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn("/tests '2A$|kill_test'", r.stdout, target)


class TestDstest(unittest.TestCase):
    def dstest(self, *args, env=None):
        return subprocess.run([os.path.join(HERE, "dstest"), *args], cwd=ROOT,
                              capture_output=True, text=True,
                              env={**os.environ, "COLUMNS": "120", **(env or {})})

    def test_passing_runs_give_a_table_and_exit_0(self):
        with tempfile.TemporaryDirectory() as d:
            r = self.dstest("-n", "3", "-p", "2", "-o", d, "TestToolsSelfCheck")
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            row = next(l for l in r.stdout.splitlines() if "TestToolsSelfCheck" in l)
            self.assertRegex(row, r"TestToolsSelfCheck\s*│\s*0\s*│\s*3\s*│\s*\d+\.\d+ ± \d+\.\d+")
            self.assertEqual(os.listdir(d), [])  # no failure, no log kept

    def test_failing_runs_keep_their_logs_and_exit_1(self):
        with tempfile.TemporaryDirectory() as d:
            r = self.dstest("-n", "2", "-o", d, "TestToolsSelfCheck",
                            env={"DSTEST_SELFTEST_FAIL": "1"})
            self.assertEqual(r.returncode, 1)
            self.assertIn("Failed test TestToolsSelfCheck", r.stdout)
            logs = sorted(os.listdir(d))
            self.assertEqual(len(logs), 2)
            log = read_text(os.path.join(d, logs[0]))
            self.assertIn("failing on purpose", log)
            self.assertRegex(log, r"\d{6} INFO S0 a line for the log")  # VERBOSE=1

    def test_no_match_is_an_error(self):
        r = self.dstest("-n", "1", "NoSuchTestAnywhere")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("no test matches 'NoSuchTestAnywhere'", r.stdout)

    def test_bad_counts_refused(self):
        for args, why in ((("-n", "0"), "argument -n/--iter: must be more than 0, not 0"),
                          (("-n", "-1"), "argument -n/--iter: must be more than 0, not -1"),
                          (("-p", "0"), "argument -p/--workers: must be more than 0, not 0"),
                          (("-n", "x"), "argument -n/--iter: 'x' is not a number")):
            r = self.dstest(*args, "TestToolsSelfCheck")
            self.assertEqual(r.returncode, 2, args)
            self.assertIn(why, r.stderr)

    def test_invalid_regex_is_reported_as_invalid(self):
        r = self.dstest("-n", "1", "Test(")
        self.assertEqual(r.returncode, 2)
        self.assertIn("invalid regex 'Test('", r.stdout)
        self.assertIn("bad regular expression", r.stdout)
        self.assertNotIn("no test matches", r.stdout)


class TestRunner(unittest.TestCase):
    """labtest/main.c: go test's output and options, bad values refused."""
    BIN = os.path.join(ROOT, "build", "plain", "tests")

    def run_tests(self, *args, **env):
        e = {k: v for k, v in os.environ.items() if k not in ("SEED", "VERBOSE", "COUNT", "FAILFAST", "RUN")}
        e.update(env)
        return subprocess.run([self.BIN, *args], capture_output=True, text=True, env=e, timeout=60)

    def test_bad_environment_refused_before_any_test(self):
        for name, value, why in (("VERBOSE", "abc", "want a verbosity level, 0 to 1000"),
                                 ("SEED", "abc", "want the unsigned number a failed run printed"),
                                 ("SEED", "-1", "want the unsigned number a failed run printed"),
                                 ("COUNT", "0", "want a count of 1 or more"),
                                 ("FAILFAST", "yes", "want 0 or 1")):
            r = self.run_tests("TestToolsSelfCheck", **{name: value})
            self.assertEqual(r.returncode, 2, name)
            self.assertEqual(r.stderr, f"testing: {name}={value}: {why}\n")
            self.assertEqual(r.stdout, "")  # nothing ran

    def test_bad_regex_refused(self):
        r = self.run_tests("Test(")
        self.assertEqual(r.returncode, 2)
        self.assertIn("testing: RUN=Test(: bad regular expression", r.stderr)

    def test_run_accepts_re2_classes(self):
        r = self.run_tests("--list", r"^Test\w+Elections?\d[A]$")
        self.assertEqual(r.stdout.split(), ["TestInitialElection2A", "TestReElection2A",
                                            "TestManyElections2A"])
        r = self.run_tests("--list", r"Persist\d\dC")
        self.assertEqual(r.stdout.split(), ["TestPersist12C", "TestPersist22C", "TestPersist32C"])
        r = self.run_tests("--list", r"Tools[^\s\d]elf")
        self.assertEqual(r.stdout.split(), ["TestToolsSelfCheck"])

    def test_failure_is_reported_inline_as_go_test_does(self):
        r = self.run_tests("TestToolsSelfCheck|TestRoundTrip", DSTEST_SELFTEST_FAIL="1", SEED="77")
        self.assertEqual(r.returncode, 1)
        self.assertRegex(r.stdout,
                         r"--- FAIL: TestToolsSelfCheck \(\d+\.\d\ds\)\n"
                         r"    tools_test.c:\d+: failing on purpose \(DSTEST_SELFTEST_FAIL=1\)\n"
                         r"    seed: SEED=77\n"
                         r"50%: Checks: 2, Failures: 1, Errors: 0\n"
                         r"labtest/tools_test.c:\d+:F:TestToolsSelfCheck:TestToolsSelfCheck:0: failing on purpose")
        self.assertRegex(r.stdout, r"\nFAIL\traft\t\d+\.\ds\n$")

    def test_failure_goes_into_the_log_too(self):
        # VERBOSE=1 ... 2>run.log: the log says why the run failed.
        r = self.run_tests("TestToolsSelfCheck", DSTEST_SELFTEST_FAIL="1", SEED="77", VERBOSE="1")
        self.assertEqual(r.returncode, 1)
        self.assertRegex(r.stderr, r"INFO S0 a line for the log\n--- FAIL: TestToolsSelfCheck "
                                   r"\(\d+\.\d\ds\)\n    tools_test.c:\d+: failing on purpose")
        self.assertIn("--- FAIL: TestToolsSelfCheck", r.stdout)
        # Both streams to one place: once.
        with tempfile.TemporaryFile("w+") as f:
            subprocess.run([self.BIN, "TestToolsSelfCheck"], stdout=f, stderr=f, timeout=60,
                           env=dict(os.environ, DSTEST_SELFTEST_FAIL="1", VERBOSE="1"))
            f.seek(0)
            self.assertEqual(f.read().count("--- FAIL: TestToolsSelfCheck"), 1)
        r = self.run_tests("TestToolsSelfCheck", DSTEST_SELFTEST_FAIL="1")
        self.assertNotIn("--- FAIL", r.stderr)  # no log asked for

    def test_pass_ends_with_ok(self):
        r = self.run_tests("TestToolsSelfCheck")
        self.assertEqual(r.returncode, 0)
        self.assertRegex(r.stdout, r"^Running suite\(s\): tools\n100%: Checks: 1, Failures: 0, "
                                   r"Errors: 0\nok  \traft\t\d+\.\ds\n$")

    def test_timeout_prints_each_threads_backtrace_and_the_replay(self):
        # The test hangs on a mutex; its limit (10 s) cut to 2 s.
        r = self.run_tests("TestToolsSelfCheck", DSTEST_SELFTEST_HANG="1", SEED="5",
                           CK_TIMEOUT_MULTIPLIER="0.2")
        self.assertEqual(r.returncode, 1)
        self.assertIn("panic: test timed out after 2 s: TestToolsSelfCheck\n", r.stderr)
        self.assertIn("Each thread's backtrace (gdb):", r.stderr)
        self.assertEqual(len(re.findall(r"^Thread \d+ ", r.stderr, re.M)), 2, r.stderr)
        self.assertRegex(r.stderr, r"#\d+ .* in hang_on_mutex .* at labtest/tools_test.c:\d+")
        self.assertRegex(r.stderr, r"#\d+ .* hang \(\) at labtest/tools_test.c:\d+")
        self.assertTrue(r.stderr.endswith("    SEED=5 make sim RUN='^TestToolsSelfCheck$'\n"),
                        r.stderr)
        self.assertIn("--- FAIL: TestToolsSelfCheck", r.stdout)

    def test_count_and_failfast(self):
        r = self.run_tests("TestToolsSelfCheck|TestRoundTrip", COUNT="3")
        self.assertIn("100%: Checks: 6, Failures: 0, Errors: 0", r.stdout)
        r = self.run_tests("TestToolsSelfCheck|TestRoundTrip", COUNT="3", FAILFAST="1",
                           DSTEST_SELFTEST_FAIL="1")
        self.assertEqual(r.stdout.count("--- FAIL"), 1)
        self.assertIn("50%: Checks: 2, Failures: 1, Errors: 0", r.stdout)  # stopped at once


class TestBench(unittest.TestCase):
    BIN = os.path.join(ROOT, "build", "bench", "bench")

    @classmethod
    def setUpClass(cls):
        subprocess.run(["make", "-s", "-C", ROOT, "build/bench/bench"], check=True,
                       capture_output=True)

    def bench(self, *args):
        return subprocess.run([self.BIN, *args], capture_output=True, text=True, timeout=30)

    def test_help(self):
        r = self.bench("--help")
        self.assertEqual(r.returncode, 0)
        self.assertTrue(r.stdout.startswith("usage: bench [--seconds S] [--peers N] [--clients W]"))

    def test_bad_arguments_refused(self):
        for args, why in ((["--clients", "0"], "--clients must be 1..4096 (got 0)"),
                          (["--peers", "0"], "--peers must be 1..7 (got 0)"),
                          (["--seconds"], "--seconds needs a value"),
                          (["--clients"], "--clients needs a value"),
                          (["--fast"], "unknown argument '--fast'"),
                          (["--peers", "3x"], "--peers wants a whole number, not '3x'"),
                          (["--seconds", "abc"], "--seconds wants seconds"),
                          (["--seconds", "0"], "--seconds wants seconds")):
            r = self.bench(*args)
            self.assertEqual(r.returncode, 2, args)
            self.assertTrue(r.stderr.startswith("bench: " + why), r.stderr)
            self.assertEqual(r.stdout, "")  # no table, no run


class TestDstestSim(unittest.TestCase):
    """dstest --sim: a seed per run, failing seeds listed with their replay."""

    dstest = TestDstest.dstest

    def test_sim_runs_show_virtual_time(self):
        r = self.dstest("--sim", "--seed", "7", "-n", "2", "TestInitialElection2A")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        row = next(l for l in r.stdout.splitlines() if "TestInitialElection2A" in l)
        # Failed, Total, then the mean virtual seconds (an election test: ~3 s).
        self.assertRegex(row, r"│\s*0\s*│\s*2\s*│\s*[34]\.\d\d\s*│")

    def test_failing_seeds_are_listed_with_their_replay(self):
        with tempfile.TemporaryDirectory() as d:
            r = self.dstest("--sim", "--seed", "40", "-n", "2", "-o", d, "TestToolsSelfCheck",
                            env={"DSTEST_SELFTEST_FAIL": "1"})
            self.assertEqual(r.returncode, 1)
            for seed in (40, 41):
                self.assertIn(f"SIM_SCHED=random SEED={seed} make sim RUN='^TestToolsSelfCheck$'",
                              r.stdout)

    def test_logs_are_named_by_seed_and_end_with_the_failure(self):
        with tempfile.TemporaryDirectory() as d:
            r = self.dstest("--sim", "--seed", "123", "-n", "1", "-o", d, "TestToolsSelfCheck",
                            env={"DSTEST_SELFTEST_FAIL": "1"})
            self.assertEqual(r.returncode, 1)
            self.assertEqual(os.listdir(d), ["TestToolsSelfCheck-SEED=123.log"])
            log = read_text(os.path.join(d, "TestToolsSelfCheck-SEED=123.log"))
            self.assertTrue(log.endswith(
                "dstest: FAIL: TestToolsSelfCheck (SEED=123): tools_test.c:36: failing on "
                "purpose (DSTEST_SELFTEST_FAIL=1)\n"), log[-300:])

    def test_replay_hint_never_wraps(self):
        with tempfile.TemporaryDirectory() as d:
            r = self.dstest("--sim", "--seed", "987654321", "-n", "1", "-o", d,
                            "TestToolsSelfCheck",
                            env={"DSTEST_SELFTEST_FAIL": "1", "COLUMNS": "40"})
            self.assertIn("\n    SIM_SCHED=random SEED=987654321 make sim "
                          "RUN='^TestToolsSelfCheck$'\n", r.stdout)

    def test_seed_without_sim_refused(self):
        r = self.dstest("--seed", "3", "TestToolsSelfCheck")
        self.assertEqual(r.returncode, 2)
        self.assertIn("dstest: error: --seed needs --sim: only the simulator replays a seed "
                      "exactly", r.stderr)

    def test_ctrl_c_stops_every_run_and_exits_130(self):
        mark = f"dstest-ctrl-c-{os.getpid()}"
        with tempfile.TemporaryDirectory() as d:
            proc = subprocess.Popen([os.path.join(HERE, "dstest"), "-n", "3", "-p", "2", "-o", d,
                                     "TestToolsSelfCheck"], cwd=ROOT, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True,
                                    env=dict(os.environ, COLUMNS="120", DSTEST_SELFTEST_HANG="1",
                                             DSTEST_MARK=mark))
            deadline = time.monotonic() + 60
            runs = lambda: marked_processes(mark)
            while len(runs()) < 4 and time.monotonic() < deadline:
                time.sleep(0.1)  # two runners, each with its forked test
            self.assertEqual(len(runs()), 4, "the runs did not start")
            proc.send_signal(signal.SIGINT)
            out, err = proc.communicate(timeout=20)
            self.assertEqual(proc.returncode, 130, out + err)
            self.assertNotIn("Traceback", out + err)
            self.assertIn("dstest results", out)
            self.assertIn("interrupted: every run was stopped", out)
            time.sleep(0.2)
            self.assertEqual(marked_processes(mark), [])

    def test_sim_and_sanitizer_cannot_mix(self):
        r = self.dstest("--sim", "--sanitizer", "tsan", "TestToolsSelfCheck")
        self.assertEqual(r.returncode, 2)
        self.assertIn("cannot be combined", r.stderr)


if __name__ == "__main__":
    unittest.main()


class TestRaftsim(unittest.TestCase):
    BIN = os.path.join(ROOT, "build", "plain", "raftsim", "raftsim")

    def run_sim(self, *args):
        return subprocess.run([self.BIN, "--seconds", "3", "--seed", "11", *args], cwd=ROOT,
                              capture_output=True, text=True, timeout=120)

    def test_short_run_ends_with_a_clean_verdict(self):
        r = self.run_sim()
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("verdict: OK", r.stdout)
        self.assertIn("at most one leader per term: yes", r.stdout)
        self.assertIn("no acknowledged command lost: yes", r.stdout)
        self.assertRegex(r.stdout, r"commands acknowledged: [1-9]\d*")

    def test_a_broken_record_is_reported(self):
        r = self.run_sim("--inject-violation")
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("verdict: VIOLATION", r.stdout)
        self.assertRegex(r.stdout, r"different commands at index \d+ on S\d and S\d")

    def test_bad_arguments_refused(self):
        for args, why in ((["--peers", "0"], "--peers must be 1..9 (got 0)"),
                          (["--peers", "12"], "--peers must be 1..9 (got 12)"),
                          (["--peers", "3x"], "--peers wants a whole number, not '3x'"),
                          (["--seconds", "abc"], "--seconds wants a whole number, not 'abc'"),
                          (["--seconds", "2.5"], "--seconds wants a whole number, not '2.5'"),
                          (["--seed", "abc"], "--seed wants a whole number, not 'abc'"),
                          (["--clients", "-1"], "--clients wants a whole number, not '-1'"),
                          (["--peers"], "--peers needs a value"),
                          (["--fast"], "unknown argument '--fast'")):
            r = subprocess.run([self.BIN, *args], capture_output=True, text=True, timeout=10)
            self.assertEqual(r.returncode, 2, args)
            self.assertTrue(r.stderr.startswith("raftsim: " + why + "\nusage: raftsim"), r.stderr)
            self.assertEqual(r.stdout, "")

    def test_help(self):
        r = subprocess.run([self.BIN, "--help"], capture_output=True, text=True, timeout=10)
        self.assertEqual(r.returncode, 0)
        self.assertTrue(r.stdout.startswith("usage: raftsim"))
        self.assertIn("--peers N", r.stdout)

    def test_unwritable_html_refused_before_the_run(self):
        r = subprocess.run([self.BIN, "--html", "/nonexistent/sim.html"], capture_output=True,
                           text=True, timeout=10)
        self.assertEqual(r.returncode, 2)
        self.assertEqual(r.stderr, "raftsim: cannot write --html /nonexistent/sim.html: "
                                   "No such file or directory\n")

    def test_live_view_lists_events_and_stops_on_time(self):
        r = self.run_sim("--peers", "3")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertRegex(r.stdout, r"\n +\d+\.\ds  S\d leads T\d+\n")
        self.assertRegex(r.stdout, r"\n +\d+\.\ds  (partition|crash|restart) S\d|heal\n")
        times = [float(t) for t in re.findall(r"^\[ *(\d+\.\d)s\]", r.stdout, re.M)]
        self.assertLessEqual(max(times), 3.0)

    def test_html_timeline(self):
        with tempfile.TemporaryDirectory() as d:
            page = os.path.join(d, "sim.html")
            r = self.run_sim("--peers", "3", "--html", page)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            text = read_text(page)
            self.assertEqual(len(re.findall(r'<g class="lane"', text)), 3)
            self.assertIn("raftsim: 3 peers", text)
            self.assertIn('<div class="verdict ok">verdict: OK', text)
            self.assertRegex(text, r'class="mark">(partition S\d|heal|crash S\d|restart S\d)</text>')
