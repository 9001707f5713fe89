"""Tests of tools/lincheck (porcupine/lincheck.c) and tools/lincheck_published
(run by `make test`): verdicts and exit statuses, and one clear line and a
non-zero exit for every kind of bad input, never a crash.

  /usr/bin/python3 -m unittest discover -s tools -p 'test_lincheck.py'
"""
import os
import subprocess
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
LINCHECK = os.path.join(HERE, "lincheck")

OK_KV = """{:process 0, :type :invoke, :f :put, :key "k", :value "a"}
{:process 1, :type :invoke, :f :get, :key "k", :value nil}
{:process 0, :type :ok, :f :put, :key "k", :value "a"}
{:process 1, :type :ok, :f :get, :key "k", :value ""}
{:process 1, :type :invoke, :f :append, :key "j", :value "b"}
{:process 1, :type :ok, :f :append, :key "j", :value "b"}
"""

# The get starts after the put returned but sees the old value.
BAD_KV = """{:process 0, :type :invoke, :f :put, :key "k", :value "a"}
{:process 0, :type :ok, :f :put, :key "k", :value "a"}
{:process 1, :type :invoke, :f :get, :key "k", :value nil}
{:process 1, :type :ok, :f :get, :key "k", :value ""}
"""

OK_ETCD = """INFO  jepsen.util - 1\t:invoke\t:write\t3
INFO  jepsen.util - 1\t:ok\t:write\t3
INFO  jepsen.util - 2\t:invoke\t:cas\t[3 4]
INFO  jepsen.util - 2\t:ok\t:cas\t[3 4]
INFO  jepsen.util - 3\t:invoke\t:read\tnil
INFO  jepsen.util - 3\t:ok\t:read\t4
"""


def hard_kv():
    """Twelve concurrent appends and a get no order explains: billions of steps."""
    lines = []
    for i in range(12):
        lines.append('{:process %d, :type :invoke, :f :append, :key "k", :value "%c"}' % (i, 97 + i))
    for i in range(12):
        lines.append('{:process %d, :type :ok, :f :append, :key "k", :value "%c"}' % (i, 97 + i))
    lines.append('{:process 20, :type :invoke, :f :get, :key "k", :value nil}')
    lines.append('{:process 20, :type :ok, :f :get, :key "k", :value "nonsense"}')
    return "\n".join(lines) + "\n"


class LincheckTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        subprocess.run(["make", "-s", "-C", ROOT, "lincheck"], check=True, stdout=subprocess.DEVNULL)

    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.addCleanup(self.dir.cleanup)

    def write(self, name, text):
        path = os.path.join(self.dir.name, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def run_lincheck(self, *args):
        return subprocess.run([LINCHECK, *args], capture_output=True, text=True, timeout=60)

    def assert_bad_input(self, run, message):
        """Exit 2, nothing on stdout, and one line on stderr that says message."""
        self.assertEqual(run.returncode, 2, run.stderr)
        self.assertEqual(run.stdout, "")
        lines = run.stderr.splitlines()
        self.assertEqual(len(lines), 1, run.stderr)
        self.assertIn(message, lines[0])

    def test_verdicts_and_exit_statuses(self):
        run = self.run_lincheck(self.write("ok.txt", OK_KV))
        self.assertEqual(run.returncode, 0, run.stderr)
        self.assertRegex(run.stdout, r"ok.txt: Ok \(kv model, 3 operations, 2 parts, \d+ steps")
        run = self.run_lincheck(self.write("bad.txt", BAD_KV))
        self.assertEqual(run.returncode, 1)
        self.assertIn("bad.txt: Illegal (kv model", run.stdout)
        run = self.run_lincheck(self.write("etcd.log", OK_ETCD))
        self.assertEqual(run.returncode, 0)
        self.assertIn("Ok (etcd model, 3 operations, 1 parts", run.stdout)
        # The worst verdict decides the status; --quiet prints nothing.
        run = self.run_lincheck("--quiet", self.write("a.txt", OK_KV), self.write("b.txt", BAD_KV))
        self.assertEqual((run.returncode, run.stdout, run.stderr), (1, "", ""))

    def test_budget_spent_is_unknown(self):
        path = self.write("hard.txt", hard_kv())
        run = self.run_lincheck("--budget", "5000", path)
        self.assertEqual(run.returncode, 3, run.stdout + run.stderr)
        self.assertIn("Unknown", run.stdout)
        self.assertIn("5000 steps", run.stdout)

    def test_html(self):
        page = os.path.join(self.dir.name, "page.html")
        run = self.run_lincheck("--html", page, self.write("bad.txt", BAD_KV))
        self.assertEqual(run.returncode, 1)
        with open(page) as f:
            html = f.read()
        self.assertIn('"result":"Illegal"', html)
        self.assertIn("get('k') -\\u003e ''", html)  # JSON keeps '>' out of the script

    def test_missing_file(self):
        self.assert_bad_input(self.run_lincheck("/nonexistent/h.txt"),
                              "lincheck: /nonexistent/h.txt: No such file or directory")

    def test_malformed_line(self):
        path = self.write("m.txt", OK_KV + "{:process 0, :type :invoke, :f :get\n")
        self.assert_bad_input(self.run_lincheck(path), "lincheck: %s:7: not a key/value event" % path)
        path = self.write("m.log", OK_ETCD.replace("[3 4]", "[3 x]", 1))
        self.assert_bad_input(self.run_lincheck(path), "lincheck: %s:3: bad argument" % path)
        path = self.write("bin", "\x00\x01garbage")
        self.assert_bad_input(self.run_lincheck(path), "NUL byte")
        # A kv file read as an etcd log.
        path = self.write("kv.txt", OK_KV)
        self.assert_bad_input(self.run_lincheck("--model", "etcd", path), "%s:1: not a Jepsen event" % path)

    def test_unknown_model(self):
        self.assert_bad_input(self.run_lincheck("--model", "queue", self.write("ok.txt", OK_KV)),
                              "lincheck: unknown model 'queue' (kv or etcd)")

    def test_unwritable_html(self):
        path = self.write("ok.txt", OK_KV)
        self.assert_bad_input(self.run_lincheck("--html", "/nonexistent/page.html", path),
                              "lincheck: cannot write /nonexistent/page.html: No such file or directory")
        self.assert_bad_input(self.run_lincheck("--html", self.dir.name, path),
                              "lincheck: cannot write %s: Is a directory" % self.dir.name)

    def test_bad_usage(self):
        self.assert_bad_input(self.run_lincheck(), "no history file given")
        self.assert_bad_input(self.run_lincheck("--budget", "-3", "x"), "--budget wants a number")
        self.assert_bad_input(self.run_lincheck("--frobnicate", "x"), "unknown option --frobnicate")
        self.assert_bad_input(self.run_lincheck("--model"), "--model needs a value")


class PublishedTest(unittest.TestCase):
    """tools/lincheck_published on a made-up porcupine checkout."""

    def test_compares_with_porcupine_test_go(self):
        with tempfile.TemporaryDirectory() as d:
            os.makedirs(os.path.join(d, "test_data", "kv"))
            os.makedirs(os.path.join(d, "test_data", "jepsen"))
            for name, text in (("c01-ok", OK_KV), ("c01-bad", BAD_KV)):
                with open(os.path.join(d, "test_data", "kv", name + ".txt"), "w") as f:
                    f.write(text)
            with open(os.path.join(d, "test_data", "jepsen", "etcd_000.log"), "w") as f:
                f.write(OK_ETCD)
            go = os.path.join(d, "porcupine_test.go")
            with open(go, "w") as f:
                f.write('\tcheckKv(t, "c01-ok", true, true)\n\tcheckKv(t, "c01-bad", false, true)\n'
                        '\tcheckKv(t, "c01-bad", false, false)\n\tcheckJepsen(t, 0, true)\n')
            script = os.path.join(HERE, "lincheck_published")
            run = subprocess.run([script, d], capture_output=True, text=True, timeout=60)
            self.assertEqual(run.returncode, 0, run.stdout + run.stderr)
            self.assertIn("2 kv files and 1 etcd logs: 0 verdicts differ", run.stdout)
            # A wrong expectation is reported.
            with open(go, "a") as f:
                f.write('\tcheckKv(t, "c01-ok", false, true)\n')
            run = subprocess.run([script, d], capture_output=True, text=True, timeout=60)
            self.assertEqual(run.returncode, 1)
            self.assertIn("c01-ok.txt: porcupine says Illegal, lincheck Ok", run.stdout)


if __name__ == "__main__":
    unittest.main()
