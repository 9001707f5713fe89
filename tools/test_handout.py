"""The student's tree (make handout): it builds, the lab's tests and the
Kill tests run and fail on the skeleton as on Go's, and our raft.c dropped
into it passes 2A and the Kill tests; with our raft.c, lab 3's skeleton
fails and our client and server pass.

Run by `make test` (without RUN); not part of the handout itself.
"""
import os
import shutil
import subprocess
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
# Our Raft: what makes a student's tree ours when copied into it.
OUR_RAFT = ("raft.c", "raft_peer.h", "raft_fast.c", "raft_log.c", "raft_log.h", "raft_rpc.c",
            "raft_rpc.h", "raftstate.c")


def make(*args, cwd=ROOT, timeout=600):
    return subprocess.run(["make", "--no-print-directory", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=timeout)


class TestHandout(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.dir = os.path.join(cls.tmp.name, "lab")
        cls.made = make("handout", "DIR=" + cls.dir)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_1_the_tree(self):
        r = self.made
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        for f in ("raft.c", "raft.h", "raft_harness.c", "Makefile", "README.md", "notes.md",
                  "labtest/test_test.c", "labtest/config.c", "labrpc/labrpc.c",
                  "labtest/paper_test.c", "labtest/scripted.c",
                  "labtest/kill_test.c", "goroutine.h", "goroutine.c"):
            self.assertTrue(os.path.exists(os.path.join(self.dir, f)), f)
        for f in ("handout", "labtest/raft_persist_test.c", "labtest/hardening_test.c",
                  "raft_log.c", "raftstate.c", "raft_fast.c", "raft_peer.h", "raft_rpc.c",
                  "tools/test_handout.py"):
            self.assertFalse(os.path.exists(os.path.join(self.dir, f)), f)
        with open(os.path.join(self.dir, "raft.c")) as f:
            skeleton = f.read()
        self.assertIn("Your code here (2A)", skeleton)
        # Go's idioms, by their C counterparts.
        for idiom in ("go_start(rf->group, ticker, &rf, sizeof rf); /* go rf.ticker() */",
                      "go rf.sendRequestVote(...)", "time.Sleep", "rf.killed()",
                      "go_wait(rf->group);"):
            self.assertIn(idiom, skeleton)
        with open(os.path.join(self.dir, "README.md")) as f:
            readme = f.read()
        self.assertIn("Where to start", readme)
        self.assertIn("make test RUN=paper", readme)
        with open(os.path.join(self.dir, "notes.md")) as f:
            notes = f.read()
        # The course notes' lists and questions, none of our answers.
        self.assertIn("To-do list", notes)
        self.assertIn("How do commitIndex and lastApplied recover", notes)
        for ours in ("become_leader", "replicate_to", "check_quorum", "REPLY_WAIT_MS",
                     "Differences from the Go lab"):
            self.assertNotIn(ours, notes)

    def test_2_skeleton_compiles_and_fails_2A(self):
        r = make("build/plain/tests", "build/sim/tests", cwd=self.dir)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertNotIn("warning:", r.stdout + r.stderr)
        r = make("test", "RUN=2A", cwd=self.dir)
        self.assertNotEqual(r.returncode, 0, r.stdout)
        self.assertIn("Test (2A): initial election ...", r.stdout)
        self.assertRegex(r.stdout, r"--- FAIL: TestInitialElection2A \(\d+\.\d\ds\)\n"
                                   r"    test_test.c:\d+: config.c:\d+: expected one leader, got none\n"
                                   r"    seed: SEED=\d+\n")
        self.assertIn("0%: Checks: 3, Failures: 3, Errors: 0", r.stdout)
        self.assertRegex(r.stdout, r"\nFAIL\traft\t\d+\.\ds\n$")
        # The Kill tests fail too (in simulation: no waiting), for want of
        # a leader to start with.
        r = subprocess.run(["./build/sim/tests", "kill_test"], cwd=self.dir,
                           capture_output=True, text=True, timeout=600)
        self.assertNotEqual(r.returncode, 0, r.stdout)
        self.assertRegex(r.stdout, r"--- FAIL: TestKillEndsThreads \(\d+\.\d\ds\)\n"
                                   r"    config.c:\d+: expected one leader, got none\n")
        self.assertIn("--- FAIL: TestKillSendsNothing", r.stdout)
        self.assertIn("0%: Checks: 2, Failures: 2, Errors: 0", r.stdout)

    def test_2_warnings_not_fatal(self):
        # A student comments code out: what is left unused warns, and builds.
        d = os.path.join(self.tmp.name, "warned")
        shutil.copytree(self.dir, d, ignore=shutil.ignore_patterns("build"))
        with open(os.path.join(d, "raft.c"), "a") as f:
            f.write("\nstatic int not_called_yet(int unused) { int x = 1; return 0; }\n")
        r = make("build/plain/tests", cwd=d)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("warning: \u2018not_called_yet\u2019 defined but not used", r.stderr)

    def test_2_make_run_on_the_skeleton_says_what_is_missing(self):
        r = make("build/plain/raftsim/raftsim", cwd=self.dir)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        r = subprocess.run([os.path.join(self.dir, "build/plain/raftsim/raftsim"), "--seconds",
                            "1", "--seed", "3"], cwd=self.dir, capture_output=True, text=True,
                           timeout=120)
        self.assertEqual(r.returncode, 3, r.stdout + r.stderr)  # unfinished, not a violation
        self.assertIn("\nverdict: UNFINISHED: no leader was ever elected: is 2A done?\n", r.stdout)
        self.assertNotIn("VIOLATION", r.stdout)

    def test_2b_skeleton_fails_the_paper_suite_by_rule(self):
        r = make("test", "RUN=TestPaperOneVotePerTerm", cwd=self.dir)
        self.assertNotEqual(r.returncode, 0, r.stdout)
        self.assertIn("S0, in term 0, refused S1 its vote for term 2", r.stdout)

    def test_3_our_raft_passes_2A(self):
        d = os.path.join(self.tmp.name, "solved")
        shutil.copytree(self.dir, d, ignore=shutil.ignore_patterns("build"))
        for f in OUR_RAFT:
            shutil.copy(os.path.join(ROOT, f), os.path.join(d, f))
        r = make("test", "RUN=2A|kill_test", cwd=d)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("100%: Checks: 5, Failures: 0, Errors: 0", r.stdout)
        self.assertRegex(r.stdout, r"\nok  \traft\t\d+\.\ds\n$")
        # The bonus suite runs in a student's tree (a few of its tests).
        r = make("test", "RUN=TestPaper(OneVotePerTerm|VotedForSurvivesRestart|"
                 "LeaderCommitsOnlyCurrentTerm)", cwd=d)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("100%: Checks: 3, Failures: 0, Errors: 0", r.stdout)

    def test_4_kvraft_skeleton_fails_and_ours_passes(self):
        # Lab 3 on our Raft: Go's skeleton client and server fail, ours pass.
        d = os.path.join(self.tmp.name, "lab3")
        shutil.copytree(self.dir, d, ignore=shutil.ignore_patterns("build"))
        for f in OUR_RAFT:
            shutil.copy(os.path.join(ROOT, f), os.path.join(d, f))
        with open(os.path.join(d, "kvraft", "server.c")) as f:
            self.assertIn("Your code here", f.read())
        for f in ("kvraft/test_test.c", "kvraft/config.c", "porcupine/checker.c", "models/kv.c"):
            with open(os.path.join(ROOT, f)) as a, open(os.path.join(d, f)) as b:
                self.assertEqual(a.read(), b.read(), f)
        r = make("test", "RUN=TestSpeed3A", cwd=d)
        self.assertNotEqual(r.returncode, 0, r.stdout)
        self.assertRegex(r.stdout, r"--- FAIL: TestSpeed3A \(\d+\.\d\ds\)\n"
                                   r"    (test_test.c:\d+: )+0 missing element x 0 0 y in Append result")
        for f in ("client.c", "server.c", "common.c", "common.h"):
            shutil.copy(os.path.join(ROOT, "kvraft", f), os.path.join(d, "kvraft", f))
        r = make("test", "RUN=TestSpeed3A|TestOnePartition3A", cwd=d)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("100%: Checks: 2, Failures: 0, Errors: 0", r.stdout)

    def test_refuses_a_folder_in_use(self):
        r = make("handout", "DIR=" + ROOT)
        self.assertEqual(r.returncode, 2)
        self.assertIn("exists and is not empty", r.stderr)
        r = make("handout")
        self.assertEqual(r.returncode, 2)
        self.assertIn("usage: make handout DIR=path", r.stderr)


if __name__ == "__main__":
    unittest.main()
