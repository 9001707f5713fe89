"""Unit tests for tools/dstest and tools/dslogs (run by `make test`).

  /usr/bin/python3 -m unittest discover -s tools -p 'test_*.py'
"""
import importlib.machinery
import importlib.util
import io
import os
import re
import subprocess
import sys
import tempfile
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
000000 TEST start S0
000001 TEST start S1
000002 TEST start S2
000003 TEST connect S0
000003 TEST connect S1
000003 TEST connect S2
Test (2B): leader backs up quickly over incorrect follower logs ...
000010 TEST Test (2B): leader backs up quickly over incorrect follower logs
003000 VOTE S1 election for T1, last 0/T0
003010 TERM S0 T0 -> T1, follower -> follower
003011 VOTE S0 granted vote to S1 for T1
003020 LEAD S1 leader for T1 with 2 votes, log (0..0]
004000 LOG1 S1 -> S0 AppendEntries prev 0/T0, 1 entries, commit 0
004100 CMIT S1 commit 0 -> 1
004200 CMIT S0 commit 0 -> 1
009000 TEST disconnect S1
012000 TEST crash S2
015000 VOTE S0 election for T2, last 1/T1
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


class TestDstest(unittest.TestCase):
    def dstest(self, *args, env=None):
        return subprocess.run([os.path.join(HERE, "dstest"), *args], cwd=ROOT,
                              capture_output=True, text=True,
                              env=dict(os.environ, COLUMNS="120", **(env or {})))

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
                self.assertIn(f"SEED={seed} make sim RUN='^TestToolsSelfCheck$'", r.stdout)

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

    def test_html_timeline(self):
        with tempfile.TemporaryDirectory() as d:
            page = os.path.join(d, "sim.html")
            r = self.run_sim("--peers", "3", "--html", page)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            text = read_text(page)
            self.assertEqual(len(re.findall(r'<g class="lane"', text)), 3)
            self.assertIn("raftsim: 3 peers", text)
