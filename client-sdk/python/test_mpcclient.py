"""Tests of the Python binding (python3 -m unittest, standard library only).

What needs no daemon runs always: loading the library, the error vocabulary, configuration
errors, exact value conversion, status of unreachable daemons (which exercises the ctypes
mirror of mpc_daemon_status), submission errors.  The end-to-end job needs running daemons:
it runs against a local cluster when `scripts/cluster` and `bin/mpcd` exist (or against
$MPC_TEST_CLIENT_CONFIG), and otherwise is skipped with the reason printed.
"""

import ctypes
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest
from decimal import Decimal
from fractions import Fraction

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import mpcclient  # noqa: E402
from mpcclient import Client, MPCError  # noqa: E402

ROOT = os.path.normpath(os.path.join(HERE, os.pardir, os.pardir))
BIN = os.environ.get("MPC_BIN", os.path.join(ROOT, "bin"))

SECURE_SUM = b"""party a, b
input x: int from a
input y: int from b
output total = x + y to a, b
"""


def _keypair():
    zmq = ctypes.CDLL("libzmq.so.5")
    pub, sec = ctypes.create_string_buffer(41), ctypes.create_string_buffer(41)
    if zmq.zmq_curve_keypair(pub, sec) != 0:
        raise OSError("zmq_curve_keypair failed")
    return pub.value.decode(), sec.value.decode()


class Dir:
    """A temporary directory with a client key pair and a configuration of two daemons that
    listen nowhere (ipc:// sockets in the directory that nothing binds: unlike a closed TCP port
    of the ephemeral range, nothing else can take them meanwhile)."""

    def __init__(self, timeout_ms=300):
        self.path = tempfile.mkdtemp(prefix="test_mpcclient.")
        pub, sec = _keypair()
        self.write("c.pub", pub + "\n")
        self.write("c.secret", sec + "\n", 0o600)
        text = "[client]\nname = py\npublic_key_file = c.pub\nsecret_key_file = c.secret\ntimeout_ms = %d\n" % timeout_ms
        for name in ("alpha", "beta"):
            text += "[daemon %s]\nendpoint = ipc://%s/%s.sock\npublic_key = %s\n" % (
                name, self.path, name, _keypair()[0])
        self.config = self.write("client.ini", text)

    def write(self, name, text, mode=0o644):
        p = os.path.join(self.path, name)
        with open(p, "w") as f:
            f.write(text)
        os.chmod(p, mode)
        return p

    def close(self):
        shutil.rmtree(self.path, ignore_errors=True)


class TestLibrary(unittest.TestCase):
    def test_loads_and_names_errors_like_the_c_library(self):
        lib = mpcclient.load_library()
        self.assertIsNotNone(lib)
        self.assertEqual(mpcclient.strerror(-10), "permission denied")
        self.assertEqual(mpcclient.strerror(-4), "timed out")
        # The generated names (mpc_errors.py) are exactly the C library's codes: every code
        # the library names is listed with the library's message, and nothing else is.
        errs = mpcclient._errors
        for code in range(-200, 201):
            text = mpcclient.strerror(code)
            if code in errs.ERR_NAMES:
                self.assertEqual(text, errs.ERR_MESSAGES[code], errs.ERR_NAMES[code])
                self.assertEqual(getattr(errs, "ERR_" + errs.ERR_NAMES[code]), code)
            else:
                self.assertEqual(text, "unknown error", code)
        self.assertEqual(mpcclient.strerror(-99), "unknown error")
        e = MPCError(-10, "daemon a: job 00: no")
        self.assertEqual(e.name, "DENIED")
        self.assertIn("daemon a", str(e))


class TestValues(unittest.TestCase):
    def test_inputs_become_exact_decimal_text(self):
        t = mpcclient._value_text
        self.assertEqual(t(True), "1")
        self.assertEqual(t(-(2 ** 63)), "-9223372036854775808")
        self.assertEqual(t(0.1), "0.1")
        self.assertEqual(t(Decimal("12.375")), "12.375")
        self.assertEqual(t(Fraction(-5, 4)), "-1.25")
        self.assertEqual(Decimal(t(Fraction(3, 2 ** 70))) * 2 ** 70, 3)
        with self.assertRaises(ValueError):
            t(Fraction(1, 3))
        with self.assertRaises(TypeError):
            t("1")

    def test_outputs_parse_by_type(self):
        self.assertEqual(mpcclient._parse_output("1, -2, 3", "int"), [1, -2, 3])
        self.assertEqual(mpcclient._parse_output("2.5, -0.125", "fix"), [Decimal("2.5"), Decimal("-0.125")])
        self.assertEqual(mpcclient._parse_output("0, 1", "bool"), [0, 1])
        self.assertEqual(mpcclient._parse_output("withheld, 11, withheld", "int"), [None, 11, None])


class TestClient(unittest.TestCase):
    def setUp(self):
        self.d = Dir()

    def tearDown(self):
        self.d.close()

    def test_bad_configuration_names_file_and_line(self):
        p = self.d.write("bad.ini", "[client]\nname = x\ncolour = blue\n")
        with self.assertRaises(MPCError) as cm:
            Client(p)
        self.assertEqual(cm.exception.name, "CONFIG")
        self.assertIn("bad.ini:3: error: unknown key 'colour'", cm.exception.message)

    def test_group_readable_secret_key_refused(self):
        os.chmod(os.path.join(self.d.path, "c.secret"), 0o640)
        with self.assertRaises(MPCError) as cm:
            Client(self.d.config)
        self.assertEqual(cm.exception.name, "DENIED")
        self.assertIn("c.secret", cm.exception.message)

    def test_status_of_unreachable_daemons(self):
        with Client(self.d.config) as c:
            self.assertEqual(c.daemons, ["alpha", "beta"])
            t0 = time.monotonic()
            st = c.status()
            self.assertLess(time.monotonic() - t0, 5.0)
            self.assertEqual([s["daemon"] for s in st], ["alpha", "beta"])
            for s in st:
                self.assertFalse(s["reachable"])
                self.assertIn("daemon %s" % s["daemon"], s["message"])
                self.assertNotIn("job", s)
            with self.assertRaises(MPCError) as cm:
                c.status("not-a-job-id")
            self.assertEqual(cm.exception.name, "INVALID")

    def test_submit_errors(self):
        with Client(self.d.config) as c:
            with self.assertRaises(MPCError) as cm:
                c.submit(b"not a circuit")
            self.assertEqual(cm.exception.name, "CIRCUIT")
            src = self.d.write("sum.mpc", SECURE_SUM.decode())
            circ = c.compile(src)
            self.assertGreater(len(circ), 0)
            with self.assertRaises(MPCError) as cm:
                c.submit(circ)
            self.assertIn(cm.exception.name, ("IO", "TIMEOUT"))
            self.assertIn("daemon alpha", cm.exception.message)
            with self.assertRaises(MPCError) as cm:
                c.submit(circ, binding={"a": "alpha", "b": "nobody"})
            self.assertEqual(cm.exception.name, "INVALID")
            bad = self.d.write("bad.mpc", "party a, b\ninput x: int from q\n")
            with self.assertRaises(MPCError) as cm:
                c.compile(bad)
            self.assertIn("bad.mpc:2:", cm.exception.message)
            with self.assertRaises(MPCError) as cm:
                c.create_job(bad)
            self.assertEqual(cm.exception.name, "CIRCUIT")
            self.assertIn("bad.mpc:2:", cm.exception.message)


class TestStaging(unittest.TestCase):
    """A job staged locally: everything is checked before any daemon (here: none listening)
    is contacted."""

    def setUp(self):
        self.d = Dir()
        self.c = Client(self.d.config)

    def tearDown(self):
        self.c.close()
        self.d.close()

    def test_inputs_checked_against_the_program(self):
        job = self.c.create_job_source(SECURE_SUM, "sum.mpc")
        self.assertIsNone(job.id)
        self.assertFalse(job.live)
        self.assertEqual(job.warnings, [])
        self.assertEqual([i["name"] for i in job.inputs], ["x", "y"])
        self.assertEqual(job.parties, [("a", "alpha"), ("b", "beta")])
        with self.assertRaises(MPCError) as cm:
            job.input("nope", 1)
        self.assertEqual(cm.exception.name, "NOTFOUND")
        self.assertEqual(cm.exception.message, "the program has no input 'nope' (its inputs: x, y)")
        with self.assertRaises(MPCError) as cm:
            job.input("x", [1, 2])
        self.assertEqual(cm.exception.message, "input 'x' takes 1 value, 2 given")
        with self.assertRaises(MPCError) as cm:
            job.input("x", "1.5")
        self.assertEqual(cm.exception.name, "INPUT")
        self.assertTrue(cm.exception.message.startswith("input 'x' (int): "), cm.exception.message)
        job.input("x", 40)
        self.assertEqual(job.staged(), ["x"])
        with self.assertRaises(MPCError) as cm:
            job.input("x", 41)
        self.assertEqual(cm.exception.name, "STATE")
        with self.assertRaises(MPCError) as cm:
            job.submit(all_inputs=True)
        self.assertEqual(cm.exception.message, "input not given: 'y' (party b)")
        with self.assertRaises(MPCError) as cm:
            job.output("total")
        self.assertEqual(cm.exception.name, "STATE")
        job.bind({"a": "beta", "b": "alpha"})
        self.assertEqual(job.parties, [("a", "beta"), ("b", "alpha")])
        with self.assertRaises(MPCError) as cm:
            job.bind("a=beta")
        self.assertEqual(cm.exception.name, "INVALID")
        job.input("y", [2])
        # the daemons are not there: the submission fails and the job stays staged
        with self.assertRaises(MPCError) as cm:
            job.submit(all_inputs=True)
        self.assertIn(cm.exception.name, ("IO", "TIMEOUT"))
        self.assertFalse(job.live)
        self.assertEqual(job.staged(), ["x", "y"])
        with self.assertRaises(MPCError) as cm:
            job.attach("zz")
        self.assertEqual(cm.exception.name, "INVALID")
        job.free()

    def test_run_checks_every_input_before_sending(self):
        src = self.d.write("sum.mpc", SECURE_SUM.decode())
        with self.assertRaises(MPCError) as cm:
            self.c.run(src, {"x": 1})
        self.assertEqual(cm.exception.message, "input not given: 'y' (party b)")
        with self.assertRaises(MPCError) as cm:
            self.c.run(src, {"x": 1, "y": 2, "z": 3})
        self.assertIn("no input 'z'", cm.exception.message)   # not IO: refused before any daemon is asked

    def test_warnings_and_strict(self):
        prog = self.d.write("w.mpc", "party a, b\ninput x: int from a\ninput q: int from b\noutput s = x to a\n")
        job = self.c.create_job(prog, strict=False)
        self.assertEqual(len(job.warnings), 1)
        self.assertTrue(job.warnings[0].startswith(prog + ":3:"), job.warnings[0])
        self.assertIn(": warning: input 'q' is never used", job.warnings[0])
        job.free()
        with self.assertRaises(MPCError) as cm:
            self.c.create_job(prog, strict=True)
        self.assertEqual(cm.exception.name, "CIRCUIT")
        self.assertIn("refused as strict", cm.exception.message)
        self.assertEqual(len(cm.exception.warnings), 1)
        par = self.d.write("p.mpc", "party a, b\nparam N = 2\ninput x: int[N] from a\ninput y: int from b\n"
                                    "output s = sum(x) + y to a\n")
        job = self.c.create_job(par, defines={"N": 4})
        self.assertEqual(job.inputs[0]["len"], 4)
        job.free()
        circ = self.c.compile(par)
        job = self.c.create_job(circ)
        self.assertEqual(job.inputs[0]["len"], 2)
        job.free()

    def test_pushdown_inputs_given_together(self):
        src = ("party a, b\ninput u: int[2] from a\ninput v: int[2] from a\ninput y: int from b\n"
               "output r = dot(u, v) + y to a, b\n")
        job = self.c.create_job_source(src, "two.mpc")
        # the program's own inputs, though the circuit's input of a is the derived u.dot
        self.assertEqual([i["name"] for i in job.inputs], ["u", "v", "y"])
        job.input("u", [1, 2])
        with self.assertRaises(MPCError) as cm:
            job.submit()
        self.assertEqual(cm.exception.name, "INPUT")
        self.assertIn("inputs 'u', 'v' of party 'a' must be given together", cm.exception.message)
        self.assertIn("--no-pushdown", cm.exception.message)
        job.free()
        # without pushdown u alone is fine: the submission gets as far as the (absent) daemons
        job = self.c.create_job_source(src, "two.mpc", pushdown=False)
        self.assertEqual([i["name"] for i in job.inputs], ["u", "v", "y"])
        job.input("u", [1, 2])
        with self.assertRaises(MPCError) as cm:
            job.submit()
        self.assertIn(cm.exception.name, ("IO", "TIMEOUT"))
        job.free()


LABS = b"""party clinic, lab
param N
input labs: table(age: int in 0..120, glucose: fix = 5 in 0..50, smoker: bool)[N] from clinic
input limit: fix from lab in 0..50
output high = count(labs.glucose > limit), smokers = sum(labs.smoker), age = sum(labs.age) to clinic, lab
"""
JOIN = b"""party a, b
input labs: table(patient_id: key, glucose: int in 0..1000)[3] from a
input claims: table(patient_id: key, cost: int in 0..1000)[2] from b
let j = join(labs, claims, on patient_id)
output n = count(j), s = sum(j.cost), g = sum(j.glucose) to a, b
"""
LABS_CSV = 'id,smoker,age,glucose\r\n1,1,30,5.5\r\n2,0,41,\r\n3,true,52,"7.25"\r\n'


class TestTables(unittest.TestCase):
    """Table inputs from CSV files (no daemon needed: staging checks everything)."""

    def setUp(self):
        self.d = Dir()
        self.c = Client(self.d.config)

    def tearDown(self):
        self.c.close()
        self.d.close()

    def test_join_keys_staged_and_checked(self):
        job = self.c.create_job_source(JOIN, "join.mpc")
        with self.assertRaises(MPCError) as cm:
            job.input_keys("nolabs", ["a", "b", "c"])
        self.assertEqual(cm.exception.name, "NOTFOUND")
        with self.assertRaises(MPCError) as cm:
            job.input_keys("labs", ["a", "b"])
        self.assertIn("has 2 rows, the program's table has 3", cm.exception.message)
        with self.assertRaises(MPCError) as cm:
            job.input_keys("labs", ["a", "  ", "c"])
        self.assertEqual(cm.exception.name, "INPUT")
        self.assertIn("row 2", cm.exception.message)
        with self.assertRaises(MPCError) as cm:
            job.input("j-join.ind", [1, 0])
        self.assertIn("join output", cm.exception.message)
        job.input_keys("labs", ["a", "b", "c"])
        with self.assertRaises(MPCError) as cm:
            job.input_keys("labs", ["a", "b", "c"])
        self.assertEqual(cm.exception.name, "STATE")
        job.free()

    def test_csv_table_staged_and_checked(self):
        csv = self.d.write("labs.csv", LABS_CSV)
        defs = self.c.table_defines(LABS, {"labs": csv})
        self.assertEqual(defs, ["N=3"])
        with self.assertRaises(MPCError) as cm:
            self.c.create_job_source(LABS, "labs.mpc")
        self.assertIn("param 'N' has no value", cm.exception.message)
        job = self.c.create_job_source(LABS, "labs.mpc", defines=defs)
        self.assertEqual([i["name"] for i in job.inputs], ["labs.age", "labs.glucose", "labs.smoker", "limit"])
        self.assertEqual(job.inputs[1]["len"], 3)
        bad = self.d.write("bad.csv", "age,glucose,smoker\n1,2,1\n2,,1\n3,4,yes\n")
        with self.assertRaises(MPCError) as cm:
            job.input_csv("labs", bad)
        self.assertEqual(cm.exception.name, "INPUT")
        self.assertEqual(cm.exception.message, bad + ":4:5: error: column 'smoker': not a valid bool value "
                         "(0, 1, true or false)")
        self.assertEqual(job.staged(), [])   # nothing of a refused file is staged
        with self.assertRaises(MPCError) as cm:
            job.input_csv("nolabs", csv)
        self.assertEqual(cm.exception.name, "NOTFOUND")
        job.input_csv("labs", csv)
        self.assertEqual(job.staged(), ["labs.age", "labs.glucose", "labs.smoker"])
        with self.assertRaises(MPCError) as cm:
            job.input_csv("labs", csv)
        self.assertEqual(cm.exception.name, "STATE")
        job.free()
        # -D wins and the file must match it
        job = self.c.create_job_source(LABS, "labs.mpc", defines=["N=4"])
        with self.assertRaises(MPCError) as cm:
            job.input_csv("labs", csv)
        self.assertIn("3 data rows, but table 'labs' has 4 rows", cm.exception.message)
        job.free()


class TestEndToEnd(unittest.TestCase):
    """A real job on real daemons."""

    def setUp(self):
        self.cluster_dir = None
        config = os.environ.get("MPC_TEST_CLIENT_CONFIG")
        if config:
            self.config = config
            return
        script = os.path.join(ROOT, "scripts", "cluster")
        if not (os.path.exists(script) and os.path.exists(os.path.join(BIN, "mpcd"))):
            reason = "needs running daemons: scripts/cluster and bin/mpcd do not exist yet (or set MPC_TEST_CLIENT_CONFIG)"
            print("\nskipped: end-to-end job: " + reason, file=sys.stderr)
            self.skipTest(reason)
        self.cluster_dir = tempfile.mkdtemp(prefix="test_mpcclient_cluster.")
        out = subprocess.run([script, "up", "2", "--dir", self.cluster_dir], cwd=ROOT, check=True,
                             stdout=subprocess.PIPE, timeout=60).stdout.decode().split()
        self.config = out[-1]

    def tearDown(self):
        if self.cluster_dir:
            subprocess.run([os.path.join(ROOT, "scripts", "cluster"), "down", "--dir", self.cluster_dir], cwd=ROOT,
                           timeout=60)
            shutil.rmtree(self.cluster_dir, ignore_errors=True)

    def test_five_lines(self):
        with tempfile.TemporaryDirectory() as tmp:
            prog = os.path.join(tmp, "sum.mpc")
            with open(prog, "wb") as f:
                f.write(SECURE_SUM)
            with Client(self.config) as c:
                job = c.create_job(prog)
                job.input("x", 40).input("y", [2])
                self.assertEqual(job.submit(all_inputs=True).output("total", timeout=60), 42)
                self.assertEqual(len(job.id), 32)
                self.assertEqual(c.run(prog, {"x": -5, "y": "7"}), {"total": 2})
                # inputs given to a live job go at once; another client attaches by id
                job = c.submit(prog, inputs={"x": 1})
                other = c.attach(job.id, prog, inputs={"y": 2})
                self.assertEqual(other.output("total", timeout=60), 3)
                self.assertEqual(job.output("total", timeout=60), 3)
                # this client's jobs, on every daemon; the daemons see each other
                listed = {j["id"]: j for j in c.jobs()}
                self.assertEqual(listed[job.id]["state"], "done")
                self.assertEqual(listed[job.id]["daemons"], 2)
                for st in c.status():
                    self.assertTrue(st["reachable"], st)
                    self.assertEqual([p["state"] for p in st["peers"]], ["connected"], st)
                # a job waiting for an input, cancelled by its submitter: cancelled on every daemon
                job = c.submit(prog, inputs={"x": 1})
                job.cancel()
                deadline = time.time() + 5
                while time.time() < deadline:   # a job the worker holds stops at its next step
                    states = [d["job"]["state"] for d in c.status(job.id)]
                    if states == ["cancelled"] * len(states):
                        break
                    time.sleep(0.05)
                for d in c.status(job.id):
                    self.assertEqual(d["job"]["state"], "cancelled")
                    self.assertIn("cancelled by client", d["job"]["reason"])
                with self.assertRaises(MPCError) as e:
                    job.output("total", timeout=10)
                self.assertEqual(e.exception.name, "CANCELLED")
                self.assertEqual(c.run(prog, {"x": 2, "y": 3}), {"total": 5})

    def test_join(self):
        """A private join (docs/join.md): one table's key column from its CSV file, the other's
        from strings; each goes to its own party's daemon only."""
        with tempfile.TemporaryDirectory() as tmp:
            csv = os.path.join(tmp, "labs.csv")
            with open(csv, "w") as f:
                f.write("patient_id,glucose\nP1,10\n P2 ,20\nP3,30\n")
            with Client(self.config) as c:
                job = c.create_job_source(JOIN, "join.mpc")
                job.input_csv("labs", csv)
                job.input_keys("claims", ["P2", "P9"]).input("claims.cost", [100, 200])
                job.submit(all_inputs=True)
                self.assertEqual(job.output("n", timeout=60), 1)
                self.assertEqual(job.output("s", timeout=60), 100)
                self.assertEqual(job.output("g", timeout=60), 20)

    def test_table_from_csv(self):
        with tempfile.TemporaryDirectory() as tmp:
            csv = os.path.join(tmp, "labs.csv")
            with open(csv, "w") as f:
                f.write(LABS_CSV)
            with Client(self.config) as c:
                job = c.create_job_source(LABS, "labs.mpc", defines=c.table_defines(LABS, {"labs": csv}))
                job.input_csv("labs", csv).input("limit", 6)
                job.submit(all_inputs=True)
                self.assertEqual(job.output("high", timeout=60), 1)
                self.assertEqual(job.output("smokers", timeout=60), 2)
                self.assertEqual(job.output("age", timeout=60), 123)


if __name__ == "__main__":
    unittest.main()
