"""tools/mutate.py: the list format and how an entry applies."""

import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "tools"))
import mutate  # noqa: E402

LIST = """\
config a: --nodes 1
config b: --nodes 2
default: a b

# a comment
== drop-flush
mechanism: zap
file: f.c
what: no flush
---
\tflush(x);
\tfree(x);
+++
\tfree(x);

# --- a section comment between entries ---

== one-run
mechanism: cow
file: f.c
what: wrong size
runs: b
equivalent: nobody reads the second half
---
    copy(x, 4096);
+++
    copy(x, 2048);
"""

SOURCE = "void f(void)\n{\n\tflush(x);\n\tfree(x);\n\tcopy(x,   4096);\n}\n"


class MutateTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.root = self.dir.name
        with open(os.path.join(self.root, "f.c"), "w") as f:
            f.write(SOURCE)

    def tearDown(self):
        self.dir.cleanup()

    def parse(self, text):
        path = os.path.join(self.root, "list.txt")
        with open(path, "w") as f:
            f.write(text)
        return mutate.parse_list(path)

    def test_entries_defaults_and_comments(self):
        ml = self.parse(LIST)
        self.assertEqual([m.id for m in ml.mutations], ["drop-flush", "one-run"])
        first, second = ml.mutations
        self.assertEqual(first.runs, ["a", "b"])
        self.assertEqual(first.replacement, "\tfree(x);")  # comment and blank lines dropped
        self.assertEqual(second.runs, ["b"])
        self.assertEqual(second.equivalent, "nobody reads the second half")

    def test_apply_ignores_whitespace_and_keeps_the_rest(self):
        ml = self.parse(LIST)
        text = mutate.apply(ml.mutations[0], self.root)
        self.assertEqual(text, "void f(void)\n{\n\tfree(x);\n\tcopy(x,   4096);\n}\n")
        self.assertIn("copy(x, 2048);", mutate.apply(ml.mutations[1], self.root))

    def test_apply_wants_exactly_one_match(self):
        ml = self.parse(LIST)
        with open(os.path.join(self.root, "f.c"), "w") as f:
            f.write(SOURCE + SOURCE)
        with self.assertRaisesRegex(mutate.ListError, "found 2 times"):
            mutate.apply(ml.mutations[0], self.root)
        with open(os.path.join(self.root, "f.c"), "w") as f:
            f.write("int x;\n")
        with self.assertRaisesRegex(mutate.ListError, "found 0 times"):
            mutate.apply(ml.mutations[0], self.root)

    def test_list_errors(self):
        with self.assertRaisesRegex(mutate.ListError, "unknown configuration 'c'"):
            self.parse(LIST.replace("runs: b", "runs: c"))
        with self.assertRaisesRegex(mutate.ListError, "duplicate ids"):
            self.parse(LIST.replace("== one-run", "== drop-flush"))
        with self.assertRaisesRegex(mutate.ListError, "no 'what:'"):
            self.parse(LIST.replace("what: no flush\n", ""))


if __name__ == "__main__":
    unittest.main()
