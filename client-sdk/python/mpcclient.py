"""mpcclient — Python binding of the mpcd client SDK (ctypes over libmpcclient.so, standard
library only).

A data analyst runs a job in five lines::

    from mpcclient import Client
    with Client("client.ini") as c:
        job = c.create_job("joint_stats.mpc")      # compiled here (or a .circ); job.warnings
        job.input("xa", "@data/a.csv")             # checked against the program, kept locally
        print(job.submit().output("mean"))         # sends the circuit, then the shared inputs

A job is staged until submit() (or attach(job_id) to a job someone else submitted): every
input given before is checked against the program and held in guarded memory by the C library.
Inputs are secret-shared inside this process by the C library (no daemon ever sees a value);
outputs are reconstructed here from one share per daemon.  Values travel as exact decimal
text: an input may be a list/tuple of int, float, Decimal, Fraction or bool, a text list
("1, 2, 3") or "@file"; outputs come back as int (int and bool types) or Decimal (fix), a
scalar for outputs of length 1 and a list otherwise — exactly the values `mpcc --eval`
prints.  Every failure raises MPCError(code, message).
"""

import ctypes
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

    def __init__(self, code, message, warnings=None):
        self.code = code
        self.warnings = warnings or []
        self.name = _ERR_NAMES.get(code, "UNKNOWN")
        self.message = message
        super().__init__("%s (%s)" % (message, self.name) if message else self.name)


# The names of the error codes, generated from the C list (protocols/mpc_err.h) by
# scripts/gen-errors-py; mpc_errors.py lies next to this file.
_ERR_NAMES = _errors.ERR_NAMES


class _PeerStatus(ctypes.Structure):
    # Mirrors the peers[] element of struct mpc_daemon_status in mpcclient.h.
    _fields_ = [
        ("name", ctypes.c_char * 64),
        ("state", ctypes.c_int),
        ("for_ms", ctypes.c_uint64),
    ]


_PEER_STATES = {0: "connected", 1: "refused our key", 2: "unreachable"}


class _JobStatus(ctypes.Structure):
    # Mirrors mpc_job_status in mpcclient.h.
    _fields_ = [
        ("id", ctypes.c_char * 33),
        ("state", ctypes.c_int),
        ("state_name", ctypes.c_char * 32),
        ("age_s", ctypes.c_uint64),
        ("submitter", ctypes.c_char * 64),
        ("layers_done", ctypes.c_uint64),
        ("layers_total", ctypes.c_uint64),
        ("prep_made", ctypes.c_uint64),
        ("prep_needed", ctypes.c_uint64),
        ("n_daemons", ctypes.c_uint32),
    ]


class _DatasetInfo(ctypes.Structure):
    # Mirrors mpc_dataset_info in mpcclient.h.
    _fields_ = [
        ("name", ctypes.c_char * 64),
        ("owner", ctypes.c_char * 64),
        ("uploader", ctypes.c_char * 64),
        ("rows", ctypes.c_uint64),
        ("bytes", ctypes.c_uint64),
        ("created", ctypes.c_int64),
        ("modified", ctypes.c_int64),
        ("n_cols", ctypes.c_uint32),
        ("uploads", ctypes.c_uint32),
        ("frac", ctypes.c_uint32),
        ("col_names", (ctypes.c_char * 64) * 64),
        ("col_types", (ctypes.c_char * 8) * 64),
    ]


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
        ("prep_made", ctypes.c_uint64),
        ("prep_needed", ctypes.c_uint64),
        ("prep_per_s", ctypes.c_uint64),
        ("n_peers", ctypes.c_size_t),
        ("peers", _PeerStatus * 17),
    ]


_lib = None

# The library's SONAME: the C ABI this binding was written for (the Makefile's SDK_ABI).
_SONAME = "libmpcclient.so.1"

# `make install` writes the installed library's path here (its SONAME link, under PREFIX/lib) in
# the copy it installs; None in the source tree.
_INSTALLED_LIBRARY = None


def _candidates():
    env = os.environ.get("MPCCLIENT_LIB")
    if env:
        yield env
    if _INSTALLED_LIBRARY:
        yield _INSTALLED_LIBRARY
    else:
        mpc_bin = os.environ.get("MPC_BIN")   # set by scripts/run-tests: $OUT/bin
        if mpc_bin:
            yield os.path.join(mpc_bin, os.pardir, "lib", _SONAME)
        here = os.path.dirname(os.path.abspath(__file__))
        yield os.path.join(here, os.pardir, os.pardir, "lib", _SONAME)
    yield _SONAME                         # the dynamic linker's search path (ldconfig, LD_LIBRARY_PATH)


def load_library(path=None):
    """Loads libmpcclient: `path`, else $MPCCLIENT_LIB, then the library `make install` installed
    with this module (in the source tree: $MPC_BIN/../lib, then the repository's lib/), then the
    SONAME libmpcclient.so.1 on the system's library path.  Returns the ctypes library (cached)."""
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
        raise OSError(_SONAME + " not found (set MPCCLIENT_LIB, build with make, or make install)" +
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
        "mpc_client_n_warnings": (SZ, [P]),
        "mpc_client_warning": (S, [P, SZ]),
        "mpc_job_create": (I, [P, ctypes.c_char_p, SZ, PP]),
        "mpc_job_create_source": (I, [P, ctypes.c_char_p, SZ, S, ctypes.POINTER(S), SZ, ctypes.c_uint, PP]),
        "mpc_job_create_file": (I, [P, S, ctypes.POINTER(S), SZ, ctypes.c_uint, PP]),
        "mpc_job_set_binding": (I, [P, P, S]),
        "mpc_job_submit": (I, [P, P, ctypes.c_uint]),
        "mpc_job_attach": (I, [P, P, S]),
        "mpc_job_contribute": (I, [P, P, S, S, S]),
        "mpc_job_set_collection": (I, [P, P, U64, U64]),
        "mpc_job_is_live": (I, [P]),
        "mpc_job_input_staged": (I, [P, SZ]),
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
        "mpc_job_input_csv": (I, [P, P, S, S, S, ctypes.c_uint]),
        "mpc_job_input_keys": (I, [P, P, S, ctypes.POINTER(ctypes.c_char_p), U64]),
        "mpc_table_row_define": (I, [P, ctypes.c_char_p, SZ, S, S, S, ctypes.c_char_p, SZ]),
        "mpc_job_output_text": (I, [P, P, S, I, ctypes.POINTER(ctypes.c_void_p)]),
        "mpc_job_output_note": (S, [P, S]),
        "mpc_client_status": (I, [P, S, ctypes.POINTER(_DaemonStatus), SZ]),
        "mpc_client_jobs": (I, [P, ctypes.POINTER(ctypes.POINTER(_JobStatus)), ctypes.POINTER(SZ)]),
        "mpc_job_cancel": (I, [P, P]),
        "mpc_client_cancel": (I, [P, S]),
        "mpc_dataset_upload_csv": (I, [P, S, S, S, S, ctypes.c_uint, S, ctypes.c_uint, ctypes.POINTER(U64)]),
        "mpc_dataset_list": (I, [P, ctypes.POINTER(ctypes.POINTER(_DatasetInfo)), ctypes.POINTER(SZ)]),
        "mpc_dataset_delete": (I, [P, S]),
        "mpc_dataset_row_define": (I, [P, ctypes.c_char_p, SZ, SZ, ctypes.c_char_p, SZ]),
    }
    sig["mpc_client_compile"] = (I, [S, SZ, S, ctypes.POINTER(S), SZ, PP, ctypes.POINTER(SZ), ctypes.c_char_p, SZ])
    for name, (res, args) in sig.items():
        fn = getattr(lib, name)
        fn.restype = res
        fn.argtypes = args


# mpcclient.h flags
_JOB_STRICT = 1
_JOB_NO_PUSHDOWN = 2
_SUBMIT_ALL_INPUTS = 1
_CSV_MISSING_ZERO = 1
_DATASET_APPEND = 1
_ERR_NOTFOUND = -11


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


def _defines(defines):
    """{name: value} (or "NAME=VALUE" strings) as a ctypes array of "NAME=VALUE"."""
    if isinstance(defines, dict):
        defs = ["%s=%s" % (k, v if isinstance(v, str) else _value_text(v)) for k, v in defines.items()]
    else:
        defs = list(defines or [])
    return (ctypes.c_char_p * max(1, len(defs)))(*[_b(d) for d in defs]), len(defs)


def _binding_text(binding):
    if isinstance(binding, dict):
        return ",".join("%s=%s" % kv for kv in binding.items())
    return binding


def _parse_output(text, typ):
    """Values as mpc_job_output_text writes them; an element the release rules withheld
    ("withheld") is None."""
    conv = Decimal if typ == "fix" else int
    return [None if t == "withheld" else conv(t) for t in text.split(", ")] if text else []


class Job:
    """A job: staged (from Client.create_job: inputs are checked and kept here) until submit()
    or attach(); then live on the cluster."""

    def __init__(self, client, handle, warnings=None):
        self._client = client
        self._h = ctypes.c_void_p(handle)
        lib = client._lib
        h = self._h
        self.hash = _s(lib.mpc_job_hash(h))
        self.warnings = list(warnings or [])
        self.inputs = [dict(name=_s(lib.mpc_job_input_name(h, i)), party=_s(lib.mpc_job_input_party(h, i)),
                            type=_s(lib.mpc_job_input_type(h, i)), len=lib.mpc_job_input_len(h, i))
                       for i in range(lib.mpc_job_n_inputs(h))]
        self.outputs = [dict(name=_s(lib.mpc_job_output_name(h, i)), type=_s(lib.mpc_job_output_type(h, i)),
                             len=lib.mpc_job_output_len(h, i))
                        for i in range(lib.mpc_job_n_outputs(h))]

    def __repr__(self):
        return "Job(%s)" % (self.id or "staged")

    def _handle(self):
        if not self._h:
            raise MPCError(_errors.ERR_STATE, "job handle already freed")
        return self._h

    @property
    def id(self):
        """The job id (32 hex digits), or None while staged."""
        return _s(self._client._lib.mpc_job_id(self._handle())) or None

    @property
    def live(self):
        return bool(self._client._lib.mpc_job_is_live(self._handle()))

    @property
    def parties(self):
        """[(party, daemon)] in program order: the binding."""
        lib, h = self._client._lib, self._handle()
        return [(_s(lib.mpc_job_party(h, i)), _s(lib.mpc_job_party_daemon(h, i)))
                for i in range(lib.mpc_job_n_parties(h))]

    def staged(self):
        """Names of the inputs given and not yet sent."""
        lib, h = self._client._lib, self._handle()
        return [inp["name"] for i, inp in enumerate(self.inputs) if lib.mpc_job_input_staged(h, i)]

    def bind(self, binding):
        """Binds the program's parties to daemons before submit: {"party": "daemon", ...} or
        "party=daemon,..."; None restores the default (i-th party to i-th daemon)."""
        b = _binding_text(binding)
        self._client._check(self._client._lib.mpc_job_set_binding(self._client._c, self._handle(),
                                                                   _b(b) if b else None))
        return self

    def input(self, name, values):
        """Gives input `name`: a list/tuple of values, one value (inputs of length 1), a text
        list "1, 2, 3", or "@path" naming a file holding one.  Checked against the program at
        once (name, length, values); before submit/attach the values are kept (in guarded memory)
        and sent then, afterwards they are shared and sent at once."""
        if isinstance(values, (list, tuple)):
            spec = ", ".join(_value_text(v) for v in values)
        elif isinstance(values, str):
            spec = values
        else:
            spec = _value_text(values)
        self._client._check(self._client._lib.mpc_job_input_text(self._client._c, self._handle(), _b(name), _b(spec)))
        return self

    def input_csv(self, table, path, sep=None, missing_zero=False):
        """Gives table `table` of the program (`input labs: table(...)[N] from a`) from the CSV
        file at path: each column from the file's column of the same name (header required,
        extra columns ignored); empty cells take the column's default, else 0 with
        missing_zero=True, else are an error ("file:line:col: error: ..."). sep: None or ","
        (default), ";" or "tab"."""
        self._client._check(self._client._lib.mpc_job_input_csv(
            self._client._c, self._handle(), _b(table), _b(os.fspath(path)), _b(sep) if sep else None,
            _CSV_MISSING_ZERO if missing_zero else 0))
        return self

    def input_keys(self, table, keys):
        """Gives the key column of table `table` of the program's joins (`let j = join(labs,
        claims, on patient_id)`) from a list of strings, one per row in the table's row order,
        each made canonical (blanks around it trimmed, case kept).  It goes to the daemon of the
        table's own party only.  input_csv gives it from the table's file by itself."""
        arr = (ctypes.c_char_p * max(len(keys), 1))(*[_b(str(k)) for k in keys])
        self._client._check(self._client._lib.mpc_job_input_keys(self._client._c, self._handle(), _b(table), arr,
                                                                  len(keys)))
        return self

    def submit(self, all_inputs=False):
        """Submits the staged job to every daemon, then shares and sends its staged inputs.
        all_inputs=True refuses (naming them) if some input of the program was not given."""
        self._client._check(self._client._lib.mpc_job_submit(self._client._c, self._handle(),
                                                             _SUBMIT_ALL_INPUTS if all_inputs else 0))
        return self

    def attach(self, job_id):
        """Joins job `job_id` (submitted by someone else) after every daemon confirms it runs
        this very program; then sends the staged inputs."""
        self._client._check(self._client._lib.mpc_job_attach(self._client._c, self._handle(), _b(job_id)))
        return self

    def collection(self, window_ms=0, max_count=0):
        """Before submit: the job's contribution collections close after window_ms or at
        max_count contributions (0: the daemons' defaults, which are also the most they grant)."""
        self._client._check(self._client._lib.mpc_job_set_collection(self._client._c, self._handle(), window_ms,
                                                                     max_count))
        return self

    def contribute(self, name, values, token):
        """Sends one contribution to the collection `name` of the attached job (`input name:
        T[D] from contributors in LO..HI`; docs/contributions.md): D values (a list/tuple or a
        text list), each checked against the validity range, shared in the field among the job's
        daemons with a validity proof for that range (the daemons drop a contribution whose
        proof fails).  token: this contributor's token (96 hex digits, `mpcd contributor-token`).
        Raises MPCError (MPC_ERR_STATE for a duplicate or a closed collection, MPC_ERR_DENIED
        for a bad token, MPC_ERR_LIMIT when the daemons hold too many pending: retry)."""
        if isinstance(values, (list, tuple)):
            spec = ", ".join(_value_text(v) for v in values)
        else:
            spec = str(values)
        self._client._check(self._client._lib.mpc_job_contribute(self._client._c, self._handle(), _b(name), _b(spec),
                                                                 _b(token)))
        return self

    def cancel(self):
        """Cancels the live job on every daemon (allowed for its submitter and for a client
        with the `cancel` right): a queued job is dropped with its inputs wiped, a running one
        stopped at its next round, a finished one's outputs wiped; it then reports the state
        'cancelled'."""
        self._client._check(self._client._lib.mpc_job_cancel(self._client._c, self._handle()))
        return self

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

    def withheld(self, name):
        """What the daemons' release rules withheld of output `name` once fetched (output() or
        output_text()): their note, e.g. "output 'h' elements 0, 2 withheld: fewer than
        min_rows = 10 rows", or "" when every element was released.  A withheld element is None
        in output() (docs/governance.md, "Release rules")."""
        return _s(self._client._lib.mpc_job_output_note(self._handle(), _b(name)))

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
        """Compiles a .mpc source file into .circ bytes."""
        with open(path, "rb") as f:
            src = f.read()
        arr, n_defs = _defines(defines)
        out, n = ctypes.c_void_p(), ctypes.c_size_t()
        err = ctypes.create_string_buffer(1024)
        r = self._lib.mpc_client_compile(src, len(src), _b(os.fspath(path)), arr, n_defs, ctypes.byref(out),
                                         ctypes.byref(n), err, len(err))
        if r:
            raise MPCError(r, _s(err.value))
        try:
            return ctypes.string_at(out, n.value)
        finally:
            self._lib.mpc_client_free(out)

    def warnings(self):
        """The compiler's warnings of the last job created from a source ("file:line:col:
        warning: …" lines)."""
        return [_s(self._lib.mpc_client_warning(self._c, i)) for i in range(self._lib.mpc_client_n_warnings(self._c))]

    def _new_job(self, r, h):
        warnings = self.warnings()
        if r:
            raise MPCError(r, _s(self._lib.mpc_client_errmsg(self._c)), warnings)
        return Job(self, h.value, warnings)

    def create_job(self, program, defines=None, strict=False, pushdown=True):
        """A staged job from a program: a .mpc path (compiled here; its warnings in
        job.warnings), a .circ path, or .circ bytes.  strict=True refuses a program the compiler
        warns about (MPCError with .warnings).  pushdown=False compiles without owner-local
        pushdown (circuits/LANGUAGE.md, "Owner-local pushdown"; every party must choose alike)."""
        h = ctypes.c_void_p()
        if isinstance(program, (bytes, bytearray)):
            if defines:
                raise MPCError(_errors.ERR_INVALID, "defines apply to a source, not to .circ bytes")
            circ = bytes(program)
            return self._new_job(self._lib.mpc_job_create(self._c, circ, len(circ), ctypes.byref(h)), h)
        arr, n = _defines(defines)
        flags = (_JOB_STRICT if strict else 0) | (0 if pushdown else _JOB_NO_PUSHDOWN)
        r = self._lib.mpc_job_create_file(self._c, _b(os.fspath(program)), arr, n, flags, ctypes.byref(h))
        return self._new_job(r, h)

    def table_defines(self, program, tables, sep=None):
        """The defines ["N=ROWS", ...] that set, for each {table: csv_path} of tables, the
        table's row count from its file when the program (a .mpc path, or source text as bytes)
        leaves that param without value (`param N`); pass them to create_job."""
        if isinstance(program, (bytes, bytearray)):
            src = bytes(program)
        else:
            with open(os.fspath(program), "rb") as f:
                src = f.read()
        out = []
        for table, path in tables.items():
            buf = ctypes.create_string_buffer(128)
            self._check(self._lib.mpc_table_row_define(self._c, src, len(src), _b(table), _b(os.fspath(path)),
                                                       _b(sep) if sep else None, buf, len(buf)))
            if buf.value:
                out.append(_s(buf.value))
        return out

    def create_job_source(self, source, filename="<source>", defines=None, strict=False, pushdown=True):
        """A staged job from mpc source text (str or bytes), compiled here."""
        src = _b(source)
        arr, n = _defines(defines)
        h = ctypes.c_void_p()
        r = self._lib.mpc_job_create_source(self._c, src, len(src), _b(filename), arr, n,
                                            (_JOB_STRICT if strict else 0) | (0 if pushdown else _JOB_NO_PUSHDOWN),
                                            ctypes.byref(h))
        return self._new_job(r, h)

    def _staged(self, program, binding, defines, inputs, strict, pushdown=True):
        job = self.create_job(program, defines, strict, pushdown)
        try:
            if binding:
                job.bind(binding)
            for name, values in (inputs or {}).items():
                job.input(name, values)
        except BaseException:
            job.free()
            raise
        return job

    def submit(self, program, binding=None, defines=None, inputs=None, strict=False, pushdown=True):
        """Stages a program (a .mpc path, a .circ path, or .circ bytes) with `inputs` ({name:
        values}, checked first) and submits it as a new job to every daemon.  `binding`:
        {"party": "daemon", ...} or "party=daemon,..."; None binds the i-th party to the i-th
        daemon."""
        job = self._staged(program, binding, defines, inputs, strict, pushdown)
        try:
            return job.submit()
        except BaseException:
            job.free()
            raise

    def attach(self, job_id, program, defines=None, inputs=None, pushdown=True):
        """Joins job `job_id` after checking it runs `program` (the client never contributes
        to a circuit it has not seen), giving `inputs` (checked before anything is sent)."""
        job = self._staged(program, None, defines, inputs, False, pushdown)
        try:
            return job.attach(job_id)
        except BaseException:
            job.free()
            raise

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
                     stock=dict(triples=s.triples_stock, triples_per_s=s.triples_per_s),
                     peers=[dict(name=_s(p.name), state=_PEER_STATES.get(p.state, "unreachable"), for_ms=p.for_ms)
                            for p in s.peers[:min(s.n_peers, 17)]])
            if s.has_job:
                d["job"] = dict(state=_s(s.state_name), reason=_s(s.reason), layers_done=s.layers_done,
                                layers_total=s.layers_total, triples_used=s.triples_used,
                                inputs_given=s.inputs_given, inputs_total=s.inputs_total,
                                prep_made=s.prep_made, prep_needed=s.prep_needed, prep_per_s=s.prep_per_s)
            out.append(d)
        return out

    def jobs(self):
        """The jobs this client submitted (each daemon shows a client its own jobs only), merged
        over the daemons, oldest first: one dict per job with id, state, age_s, submitter,
        layers_done, layers_total, prep_made, prep_needed and daemons (how many reported it)."""
        arr = ctypes.POINTER(_JobStatus)()
        n = ctypes.c_size_t(0)
        self._check(self._lib.mpc_client_jobs(self._c, ctypes.byref(arr), ctypes.byref(n)))
        try:
            return [dict(id=_s(j.id), state=_s(j.state_name), age_s=j.age_s, submitter=_s(j.submitter),
                         layers_done=j.layers_done, layers_total=j.layers_total, prep_made=j.prep_made,
                         prep_needed=j.prep_needed, daemons=j.n_daemons)
                    for j in arr[:n.value]]
        finally:
            if arr:
                self._lib.mpc_client_free(arr)

    def upload_dataset(self, name, csv_path, schema, party, append=False, precision=16, sep=None,
                       missing_zero=False):
        """Secret-shares the CSV file once to every daemon as stored dataset `name` of `party`
        (docs/datasets.md); schema is a table's column list, "age: int in 0..120, glucose: fix".
        Replaces the dataset unless append.  Returns its row count afterwards."""
        rows = ctypes.c_uint64(0)
        flags = (_DATASET_APPEND if append else 0) | (_CSV_MISSING_ZERO if missing_zero else 0)
        self._check(self._lib.mpc_dataset_upload_csv(self._c, _b(name), _b(os.fspath(csv_path)), _b(schema), _b(party),
                                                     precision, _b(sep) if sep else None, flags, ctypes.byref(rows)))
        return rows.value

    def datasets(self):
        """The stored datasets as every daemon describes them (they must agree): one dict each with
        name, owner, uploader, rows, columns [(name, type)], uploads, created, modified (Unix
        seconds) and bytes (on all daemons together)."""
        arr = ctypes.POINTER(_DatasetInfo)()
        n = ctypes.c_size_t(0)
        self._check(self._lib.mpc_dataset_list(self._c, ctypes.byref(arr), ctypes.byref(n)))
        try:
            return [dict(name=_s(d.name), owner=_s(d.owner), uploader=_s(d.uploader), rows=d.rows,
                         columns=[(_s(d.col_names[k].value), _s(d.col_types[k].value)) for k in range(d.n_cols)],
                         uploads=d.uploads, created=d.created, modified=d.modified, bytes=d.bytes)
                    for d in arr[:n.value]]
        finally:
            if arr:
                self._lib.mpc_client_free(arr)

    def delete_dataset(self, name):
        """Deletes the stored dataset on every daemon."""
        self._check(self._lib.mpc_dataset_delete(self._c, _b(name)))

    def dataset_defines(self, program):
        """The defines ["N=ROWS", ...] that set each dataset table's row count from the daemons when
        the program (a .mpc path, or source bytes) leaves that param without value; for create_job."""
        if isinstance(program, (bytes, bytearray)):
            src = bytes(program)
        else:
            with open(os.fspath(program), "rb") as f:
                src = f.read()
        out = []
        for i in range(64):
            buf = ctypes.create_string_buffer(128)
            r = self._lib.mpc_dataset_row_define(self._c, src, len(src), i, buf, len(buf))
            if r == _ERR_NOTFOUND and not _s(self._lib.mpc_client_errmsg(self._c)):
                break
            self._check(r)
            if buf.value:
                out.append(_s(buf.value))
        return out

    def cancel(self, job_id):
        """Cancels job `job_id` (32 hex digits) on every daemon; see Job.cancel."""
        self._check(self._lib.mpc_client_cancel(self._c, _b(job_id)))

    def run(self, program, inputs=None, outputs=None, binding=None, defines=None, timeout=600.0, strict=False,
            pushdown=True):
        """Stage the program with every one of its `inputs` ({name: values}: all checked, a
        missing one named, before anything is sent), submit, wait and return {output name:
        value} for `outputs` (default: every output of the program)."""
        job = self._staged(program, binding, defines, inputs, strict, pushdown)
        try:
            job.submit(all_inputs=True)
            names = outputs or [o["name"] for o in job.outputs]
            try:
                return {name: job.output(name, timeout) for name in names}
            except BaseException:
                # failed or interrupted before it completed: cancel it.  A KeyboardInterrupt
                # is raised when the current wait in the library returns (Python runs its
                # signal handlers between calls), not in the middle of it
                try:
                    job.cancel()
                except MPCError:
                    pass
                raise
        finally:
            job.free()


def strerror(code):
    """The name of an MPC_ERR_* code, as the C library gives it."""
    return _s(load_library().mpc_strerror(code))
