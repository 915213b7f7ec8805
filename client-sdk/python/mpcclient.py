"""mpcclient — Python binding of the mpcd client SDK (ctypes over libmpcclient.so, standard
library only).

A data analyst runs a job in five lines::

    from mpcclient import Client
    with Client("client.ini") as c:
        job = c.submit("joint_stats.mpc")          # or a compiled .circ
        job.input("xa", "@data/a.csv")
        print(job.output("mean"))

Inputs are secret-shared inside this process by the C library (no daemon ever sees a value);
outputs are reconstructed here from one share per daemon.  Values travel as exact decimal
text: an input may be a list/tuple of int, float, Decimal, Fraction or bool, a text list
("1, 2, 3") or "@file"; outputs come back as int (int and bool types) or Decimal (fix), a
scalar for outputs of length 1 and a list otherwise — exactly the values `mpcc --eval`
prints.  Every failure raises MPCError(code, message).
"""

import ctypes
import ctypes.util
import os
from decimal import Decimal
from fractions import Fraction

try:
    from . import mpc_errors as _errors
except ImportError:
    import mpc_errors as _errors

__all__ = ["Client", "Job", "MPCError", "load_library"]


class MPCError(Exception):
    """A failed SDK call: `code` is a negative MPC_ERR_* value, `name` its symbol (e.g.
    "DENIED"), `message` the one-line reason naming the daemon, the job and the cause."""

    def __init__(self, code, message):
        self.code = code
        self.name = _ERR_NAMES.get(code, "UNKNOWN")
        self.message = message
        super().__init__("%s (%s)" % (message, self.name) if message else self.name)


# The names of the error codes, generated from the C list (protocols/mpc_err.h) by
# scripts/gen-errors-py; mpc_errors.py lies next to this file.
_ERR_NAMES = _errors.ERR_NAMES


class _DaemonStatus(ctypes.Structure):
    # Mirrors struct mpc_daemon_status in mpcclient.h.
    _fields_ = [
        ("daemon", ctypes.c_char * 64),
        ("reachable", ctypes.c_int),
        ("error", ctypes.c_int),
        ("message", ctypes.c_char * 512),
        ("jobs_queued", ctypes.c_uint64),
        ("jobs_running", ctypes.c_uint64),
        ("jobs_done", ctypes.c_uint64),
        ("jobs_failed", ctypes.c_uint64),
        ("triples_stock", ctypes.c_uint64),
        ("triples_per_s", ctypes.c_uint64),
        ("has_job", ctypes.c_int),
        ("state", ctypes.c_int),
        ("state_name", ctypes.c_char * 32),
        ("reason", ctypes.c_char * 512),
        ("layers_done", ctypes.c_uint64),
        ("layers_total", ctypes.c_uint64),
        ("triples_used", ctypes.c_uint64),
        ("inputs_given", ctypes.c_uint32),
        ("inputs_total", ctypes.c_uint32),
    ]


_lib = None


def _candidates():
    env = os.environ.get("MPCCLIENT_LIB")
    if env:
        yield env
    here = os.path.dirname(os.path.abspath(__file__))
    mpc_bin = os.environ.get("MPC_BIN")   # set by scripts/run-tests: $OUT/bin
    if mpc_bin:
        yield os.path.join(mpc_bin, os.pardir, "lib", "libmpcclient.so")
    yield os.path.join(here, os.pardir, os.pardir, "lib", "libmpcclient.so")
    found = ctypes.util.find_library("mpcclient")
    if found:
        yield found


def load_library(path=None):
    """Loads libmpcclient.so: `path`, else $MPCCLIENT_LIB, $MPC_BIN/../lib, the repository's
    lib/, then the system's library path.  Returns the ctypes library (cached)."""
    global _lib
    if _lib is not None and path is None:
        return _lib
    errors = []
    for cand in ([path] if path else list(_candidates())):
        if not cand or (os.sep in cand and not os.path.exists(cand)):
            continue
        try:
            lib = ctypes.CDLL(cand)
            break
        except OSError as e:
            errors.append("%s: %s" % (cand, e))
    else:
        raise OSError("libmpcclient.so not found (set MPCCLIENT_LIB or build with make)" +
                      ("; " + "; ".join(errors) if errors else ""))
    _declare(lib)
    if path is None:
        _lib = lib
    return lib


def _declare(lib):
    P, S, I, U64, SZ = ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.c_uint64, ctypes.c_size_t
    PP = ctypes.POINTER(ctypes.c_void_p)
    sig = {
        "mpc_strerror": (S, [I]),
        "mpc_client_open": (I, [PP, S, ctypes.c_char_p, SZ]),
        "mpc_client_close": (None, [PP]),
        "mpc_client_errmsg": (S, [P]),
        "mpc_client_n_daemons": (SZ, [P]),
        "mpc_client_daemon_name": (S, [P, SZ]),
        "mpc_client_free": (None, [P]),
        "mpc_job_submit": (I, [P, ctypes.c_char_p, SZ, S, PP]),
        "mpc_job_attach": (I, [P, S, ctypes.c_char_p, SZ, PP]),
        "mpc_job_free": (None, [PP]),
        "mpc_job_id": (S, [P]),
        "mpc_job_hash": (S, [P]),
        "mpc_job_n_parties": (SZ, [P]),
        "mpc_job_party": (S, [P, SZ]),
        "mpc_job_party_daemon": (S, [P, SZ]),
        "mpc_job_n_inputs": (SZ, [P]),
        "mpc_job_input_name": (S, [P, SZ]),
        "mpc_job_input_party": (S, [P, SZ]),
        "mpc_job_input_type": (S, [P, SZ]),
        "mpc_job_input_len": (U64, [P, SZ]),
        "mpc_job_n_outputs": (SZ, [P]),
        "mpc_job_output_name": (S, [P, SZ]),
        "mpc_job_output_type": (S, [P, SZ]),
        "mpc_job_output_len": (U64, [P, SZ]),
        "mpc_job_input_text": (I, [P, P, S, S]),
        "mpc_job_output_text": (I, [P, P, S, I, ctypes.POINTER(ctypes.c_void_p)]),
        "mpc_client_status": (I, [P, S, ctypes.POINTER(_DaemonStatus), SZ]),
    }
    for name, (res, args) in sig.items():
        fn = getattr(lib, name)
        fn.restype = res
        fn.argtypes = args
    if hasattr(lib, "mpc_client_compile"):
        lib.mpc_client_compile.restype = I
        lib.mpc_client_compile.argtypes = [S, SZ, S, ctypes.POINTER(S), SZ, PP,
                                           ctypes.POINTER(SZ), ctypes.c_char_p, SZ]


def _b(s):
    return s.encode() if isinstance(s, str) else s


def _s(b):
    return b.decode("utf-8", "replace") if b is not None else None


def _value_text(v):
    """One value as exact decimal text for the C parser."""
    if isinstance(v, bool):
        return "1" if v else "0"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return repr(v)            # shortest text that reads back as the same double
    if isinstance(v, Decimal):
        return format(v, "f")
    if isinstance(v, Fraction):
        k = v.denominator.bit_length() - 1
        if v.denominator == 1 << k:   # a power of two: n/2^k = n·5^k/10^k, exact in decimal
            return format(Decimal(v.numerator * 5 ** k).scaleb(-k), "f")
        raise ValueError("a Fraction input must have a power-of-two denominator")
    raise TypeError("input values must be int, float, Decimal, Fraction or bool, not %s" % type(v).__name__)


def _parse_output(text, typ):
    conv = Decimal if typ == "fix" else int
    return [conv(t) for t in text.split(", ")] if text else []


class Job:
    """A job on the cluster (from Client.submit or Client.attach)."""

    def __init__(self, client, handle):
        self._client = client
        self._h = ctypes.c_void_p(handle)
        lib = client._lib
        h = self._h
        self.id = _s(lib.mpc_job_id(h))
        self.hash = _s(lib.mpc_job_hash(h))
        self.parties = [(_s(lib.mpc_job_party(h, i)), _s(lib.mpc_job_party_daemon(h, i)))
                        for i in range(lib.mpc_job_n_parties(h))]
        self.inputs = [dict(name=_s(lib.mpc_job_input_name(h, i)), party=_s(lib.mpc_job_input_party(h, i)),
                            type=_s(lib.mpc_job_input_type(h, i)), len=lib.mpc_job_input_len(h, i))
                       for i in range(lib.mpc_job_n_inputs(h))]
        self.outputs = [dict(name=_s(lib.mpc_job_output_name(h, i)), type=_s(lib.mpc_job_output_type(h, i)),
                             len=lib.mpc_job_output_len(h, i))
                        for i in range(lib.mpc_job_n_outputs(h))]

    def __repr__(self):
        return "Job(%s)" % self.id

    def _handle(self):
        if not self._h:
            raise MPCError(_errors.ERR_STATE, "job handle already freed")
        return self._h

    def input(self, name, values):
        """Gives input `name`: a list/tuple of values, one value (inputs of length 1), a text
        list "1, 2, 3", or "@path" naming a file holding one."""
        if isinstance(values, (list, tuple)):
            spec = ", ".join(_value_text(v) for v in values)
        elif isinstance(values, str):
            spec = values
        else:
            spec = _value_text(values)
        self._client._check(self._client._lib.mpc_job_input_text(self._client._c, self._handle(), _b(name), _b(spec)))

    def output_text(self, name, timeout=600.0):
        """Waits (up to `timeout` seconds) for output `name` and returns it as mpcc --eval
        prints it: values in the output's type, ", "-separated."""
        lib = self._client._lib
        out = ctypes.c_void_p()
        ms = -1 if timeout is None else int(timeout * 1000)
        self._client._check(lib.mpc_job_output_text(self._client._c, self._handle(), _b(name), ms, ctypes.byref(out)))
        try:
            return ctypes.string_at(out).decode()
        finally:
            lib.mpc_client_free(out)

    def output(self, name, timeout=600.0):
        """Waits for output `name` and returns its value(s): int (int, bool) or Decimal (fix);
        a scalar when the output has length 1, else a list."""
        info = next((o for o in self.outputs if o["name"] == name), None)
        text = self.output_text(name, timeout)
        typ = info["type"] if info else "int"
        vals = _parse_output(text, typ)
        return vals[0] if info and info["len"] == 1 else vals

    def status(self):
        """This job on every daemon (see Client.status)."""
        return self._client.status(self.id)

    def free(self):
        if self._h:
            self._client._lib.mpc_job_free(ctypes.byref(self._h))
            self._h = None

    def __del__(self):
        try:
            self.free()
        except Exception:
            pass


class Client:
    """A client of an mpcd cluster, opened from a client configuration file (docs/client.md)."""

    def __init__(self, config, library=None):
        self._lib = load_library(library) if library else load_library()
        self._c = ctypes.c_void_p()
        err = ctypes.create_string_buffer(1024)
        r = self._lib.mpc_client_open(ctypes.byref(self._c), _b(os.fspath(config)), err, len(err))
        if r:
            raise MPCError(r, _s(err.value))
        self.daemons = [_s(self._lib.mpc_client_daemon_name(self._c, i))
                        for i in range(self._lib.mpc_client_n_daemons(self._c))]

    def _check(self, r):
        if r:
            raise MPCError(r, _s(self._lib.mpc_client_errmsg(self._c)))

    def close(self):
        if self._c:
            self._lib.mpc_client_close(ctypes.byref(self._c))
            self._c = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    def compile(self, path, defines=None):
        """Compiles a .mpc source file into .circ bytes (when the library has the compiler)."""
        if not hasattr(self._lib, "mpc_client_compile"):
            raise MPCError(_errors.ERR_UNSUPPORTED, "this libmpcclient has no compiler: give a compiled .circ")
        with open(path, "rb") as f:
            src = f.read()
        defs = ["%s=%s" % (k, _value_text(v) if not isinstance(v, str) else v) for k, v in (defines or {}).items()]
        arr = (ctypes.c_char_p * max(1, len(defs)))(*[_b(d) for d in defs])
        out, n = ctypes.c_void_p(), ctypes.c_size_t()
        err = ctypes.create_string_buffer(1024)
        r = self._lib.mpc_client_compile(src, len(src), _b(os.fspath(path)), arr, len(defs), ctypes.byref(out),
                                         ctypes.byref(n), err, len(err))
        if r:
            raise MPCError(r, _s(err.value))
        try:
            return ctypes.string_at(out, n.value)
        finally:
            self._lib.mpc_client_free(out)

    def _circuit(self, program, defines):
        if isinstance(program, (bytes, bytearray)):
            return bytes(program)
        path = os.fspath(program)
        if path.endswith(".circ"):
            with open(path, "rb") as f:
                return f.read()
        return self.compile(path, defines)

    def submit(self, program, binding=None, defines=None):
        """Submits a program (a .mpc path, a .circ path, or .circ bytes) as a new job to every
        daemon.  `binding`: {"party": "daemon", ...} or "party=daemon,..."; None binds the
        i-th party to the i-th daemon."""
        circ = self._circuit(program, defines)
        if isinstance(binding, dict):
            binding = ",".join("%s=%s" % kv for kv in binding.items())
        h = ctypes.c_void_p()
        self._check(self._lib.mpc_job_submit(self._c, circ, len(circ), _b(binding) if binding else None,
                                             ctypes.byref(h)))
        return Job(self, h.value)

    def attach(self, job_id, program, defines=None):
        """Joins job `job_id` after checking it runs `program` (the client never contributes
        to a circuit it has not seen)."""
        circ = self._circuit(program, defines)
        h = ctypes.c_void_p()
        self._check(self._lib.mpc_job_attach(self._c, _b(job_id), circ, len(circ), ctypes.byref(h)))
        return Job(self, h.value)

    def status(self, job_id=None):
        """One dict per daemon: daemon, reachable, error/message, jobs, stock, and with a job id
        that job's state, reason, layers and inputs."""
        n = len(self.daemons)
        st = (_DaemonStatus * n)()
        self._check(self._lib.mpc_client_status(self._c, _b(job_id) if job_id else None, st, n))
        out = []
        for s in st:
            d = dict(daemon=_s(s.daemon), reachable=bool(s.reachable), error=s.error, message=_s(s.message),
                     jobs=dict(queued=s.jobs_queued, running=s.jobs_running, done=s.jobs_done, failed=s.jobs_failed),
                     stock=dict(triples=s.triples_stock, triples_per_s=s.triples_per_s))
            if s.has_job:
                d["job"] = dict(state=_s(s.state_name), reason=_s(s.reason), layers_done=s.layers_done,
                                layers_total=s.layers_total, triples_used=s.triples_used,
                                inputs_given=s.inputs_given, inputs_total=s.inputs_total)
            out.append(d)
        return out

    def run(self, program, inputs=None, outputs=None, binding=None, defines=None, timeout=600.0):
        """Submit, give `inputs` ({name: values}), wait and return {output name: value} for
        `outputs` (default: every output of the program)."""
        job = self.submit(program, binding, defines)
        try:
            for name, values in (inputs or {}).items():
                job.input(name, values)
            names = outputs or [o["name"] for o in job.outputs]
            return {name: job.output(name, timeout) for name in names}
        finally:
            job.free()


def strerror(code):
    """The name of an MPC_ERR_* code, as the C library gives it."""
    return _s(load_library().mpc_strerror(code))
