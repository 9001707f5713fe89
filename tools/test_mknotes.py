"""make notes (tools/mknotes): the page shows each note's functions from
the sources, with links both ways, and notes.md names no function the
code no longer has."""
import os
import subprocess
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
# Go's names, and a macro: not functions of ours.
NOT_OURS = {"Start()", "one()", "cfg_fatalf()"}


class TestMknotes(unittest.TestCase):
    def test_page(self):
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "notes.html")
            r = subprocess.run(["/usr/bin/python3", "tools/mknotes", "-o", out, "notes.md"],
                               cwd=ROOT, capture_output=True, text=True, timeout=60)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            with open(out, encoding="utf-8") as f:
                page = f.read()
        # A note links to the code, the code back to the note.
        self.assertIn('href="#fn-start_election"', page)
        self.assertIn('id="fn-start_election"', page)
        self.assertIn("static void start_election(Raft *rf)", page)
        self.assertRegex(page, r'named in <a href="#sec-\d+">')
        stale = set()
        for line in r.stdout.splitlines():
            if "not in the code:" in line:
                stale = {n.strip() for n in line.split(":", 2)[2].split(",")}
        self.assertLessEqual(stale, NOT_OURS, "notes.md names functions the code lacks")


if __name__ == "__main__":
    unittest.main()
