# warm_start.py - the Python of a warm sandbox (see runtime/warm_pool.h).
# Run as `python3 -c <this> MODULES` by the sandbox init, already in the
# job's namespaces, cgroup, seccomp filter and uid. It imports MODULES while
# no job exists, says "ready" on the control socket (fd 5), waits for one
# job, then runs its entry point as `python3 ENTRY` would have. It serves
# exactly one job: the process ends with it.


def _warm_start():
    import os
    import sys

    control_fd = 5
    names = [n for n in sys.argv[1].split(",") if n]

    # Import with stdout and stderr on /dev/null: nothing a preload prints
    # may reach the job's output.
    saved = (os.dup(1), os.dup(2))
    null = os.open("/dev/null", os.O_WRONLY)
    os.dup2(null, 1)
    os.dup2(null, 2)
    os.close(null)
    try:
        for name in names:
            try:
                __import__(name)
            except Exception:  # a module the rootfs lacks only costs warmth
                pass
    finally:
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        os.close(saved[0])
        os.close(saved[1])

    os.write(control_fd, b"ready")
    try:
        message = os.read(control_fd, 65536)
    except OSError:
        message = b""
    if not message:  # retired before it was used
        os._exit(0)
    entry, threads = message.decode().split("\0")
    # The socket moves out of the job's way (it may close or reuse fd 5),
    # and only this process may report the job's end: not a child it forks
    # (which inherits this stack), nor anything it execs.
    import fcntl

    control_fd = fcntl.fcntl(5, fcntl.F_DUPFD_CLOEXEC, 900)
    os.close(5)
    main_pid = os.getpid()
    os.register_at_fork(after_in_child=lambda: _close_quietly(os, control_fd))

    # Per-job state: this process was started before the job existed, so
    # reseed what seeded itself then (hash randomisation is already
    # per-process: every warm sandbox is its own interpreter).
    import random

    random.seed()
    numpy = sys.modules.get("numpy")
    if numpy is not None:
        numpy.random.seed()
    tempfile = sys.modules.get("tempfile")
    if tempfile is not None:
        tempfile._name_sequence = None

    # Imports ran single-threaded; the job gets the threads a cold job gets.
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
        os.environ[var] = threads
    if threads != "1" and "numpy" in sys.modules:
        try:
            from threadpoolctl import threadpool_limits

            threadpool_limits(int(threads))
        except Exception:
            pass

    path = os.path.abspath(entry)
    sys.argv[:] = [entry]
    sys.path[0] = os.path.dirname(path)
    with open(path, "rb") as f:
        source = f.read()
    import types

    main = types.ModuleType("__main__")
    main.__file__ = path
    main.__builtins__ = __builtins__
    sys.modules["__main__"] = main
    # What the job allocates is all the collector needs to look at: the
    # preloaded modules' objects are frozen out of its view.
    import gc

    gc.freeze()
    try:
        code = compile(source, path, "exec", dont_inherit=True)
    except SyntaxError as e:  # printed as a cold start prints it: no traceback
        sys.excepthook(type(e), e.with_traceback(None), None)
        _finish(1, sys, os, gc, control_fd, main_pid)
    status = 0
    try:
        exec(code, main.__dict__)
    except SystemExit as e:
        status = _exit_status(e, sys)
    except BaseException as e:
        # The traceback a cold job prints: from the job's first frame on.
        tb = e.__traceback__.tb_next if e.__traceback__ else None
        sys.excepthook(type(e), e.with_traceback(tb), tb)
        status = 130 if isinstance(e, KeyboardInterrupt) else 1
    _finish(status, sys, os, gc, control_fd, main_pid)


def _close_quietly(os, fd):
    try:
        os.close(fd)
    except OSError:
        pass


def _exit_status(e, sys):
    """The exit status `raise SystemExit(code)` gives a cold interpreter."""
    if e.code is None:
        return 0
    if isinstance(e.code, int):
        return e.code & 0xFF
    try:
        print(e.code, file=sys.stderr)
    except Exception:
        pass
    return 1


def _finish(status, sys, os, gc, control_fd, main_pid):
    """Ends the job as interpreter shutdown would, without its slowest part.

    Tearing down hundreds of preloaded modules costs ~250 ms. The job sees
    the same steps before it: non-daemon threads joined, atexit handlers
    run, and every file it left open flushed; then the process exits.
    """
    if os.getpid() != main_pid:  # a forked child ending: an ordinary exit
        sys.exit(status)
    threading = sys.modules.get("threading")
    if threading is not None:
        try:
            threading._shutdown()
        except Exception:
            pass
    import atexit

    atexit._run_exitfuncs()
    import io

    for obj in gc.get_objects():  # the job's objects only (gc.freeze above)
        if isinstance(obj, io.IOBase):
            try:
                if not obj.closed:
                    obj.flush()
            except Exception:
                pass
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        try:
            stream.flush()
        except Exception:
            pass
    # The job is over: its output ends here, and the server learns the
    # status now rather than after the kernel has unmapped ~100 MiB.
    _close_quietly(os, 1)
    _close_quietly(os, 2)
    import stat

    try:
        if stat.S_ISSOCK(os.fstat(control_fd).st_mode):
            os.write(control_fd, b"exit %d" % status)
    except OSError:
        pass
    os._exit(status)


_warm_start()
