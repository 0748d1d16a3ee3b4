/*
 * The embedded CPython that runs the scanning core.
 *
 * Started isolated (no environment, no user site, no site import) and without
 * Python signal handlers, since PostgreSQL owns SIGINT and friends.  Either
 * once in the postmaster, when the library is preloaded (preload.c), and then
 * inherited by every backend through fork; or lazily, once per backend, the
 * first time a scan or the validator needs the core.  If another extension
 * (plpython3u) started the interpreter first, the core module is created from
 * its definition instead of through the inittab; in a lazy backend on Python
 * 3.12+, plpython3u, where installed, is asked to start it (see below).
 */
#include "postgres.h"

/* Python.h wants to define these itself. */
#undef _POSIX_C_SOURCE
#undef _XOPEN_SOURCE
#include <Python.h>

#include <dlfcn.h>
#include <unistd.h>

#include "fmgr.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"

#include "redis_wrapper.h"

#define CORE_MODULE "redis_wrapper_core"

extern PyObject *PyInit_redis_wrapper_core(void);

static PyObject *core_module = NULL;

/*
 * The process whose interpreter state this is: where the core was loaded, or
 * a child of the postmaster that loaded it, once the child has redone what
 * fork left to redo.  0 until the core is loaded.
 */
static pid_t python_pid = 0;

/* The text of the pending Python exception, which is cleared. */
static char *
python_error_text(void)
{
	PyObject   *type,
			   *value,
			   *traceback,
			   *text;
	const char *s = NULL;
	char	   *result;

	PyErr_Fetch(&type, &value, &traceback);
	text = value ? PyObject_Str(value) : NULL;
	if (text)
		s = PyUnicode_AsUTF8(text);
	result = pstrdup(s ? s : "unknown error");
	Py_XDECREF(text);
	Py_XDECREF(type);
	Py_XDECREF(value);
	Py_XDECREF(traceback);
	PyErr_Clear();
	return result;
}

/* Is plpython3u installed in this PostgreSQL?  Its library's path, if so. */
bool
rw_plpython_path(char *path, size_t size)
{
	snprintf(path, size, "%s/plpython3%s", pkglib_path, DLSUFFIX);
	return access(path, R_OK) == 0;
}

#if PY_VERSION_HEX >= 0x030C0000
/*
 * plpython3u registers its plpy module with PyImport_AppendInittab when it
 * starts Python, and from 3.12 on Python aborts the process if that happens
 * after the interpreter is running.  So where plpython3u is installed, let it
 * start the interpreter (by running "pass" through its inline handler, which
 * needs neither the language in this database nor any privilege), and join.
 */
static bool
start_through_plpython(void)
{
	char		path[MAXPGPATH];
	PGFunction	inline_handler;
	InlineCodeBlock *block;

	if (!rw_plpython_path(path, sizeof(path)))
		return false;
	inline_handler = load_external_function("$libdir/plpython3", "plpython3_inline_handler",
											true, NULL);
	block = makeNode(InlineCodeBlock);
	block->source_text = "pass";
	block->langOid = InvalidOid;
	block->langIsTrusted = false;
	block->atomic = true;
	DirectFunctionCall1(inline_handler, PointerGetDatum(block));
	return Py_IsInitialized();
}
#else
/*
 * Before 3.12, plpython3u's late registration of plpy still works, but only if
 * the inittab knew it at start: register it for plpython3u, if installed.
 */
static void
register_plpy(void)
{
	char		path[MAXPGPATH];
	void	   *lib;
	PyObject   *(*init) (void);

	if (!rw_plpython_path(path, sizeof(path)))
		return;
	/* The flags PostgreSQL itself loads libraries with, so it shares this handle. */
	lib = dlopen(path, RTLD_NOW | RTLD_GLOBAL);
	if (lib == NULL)
		return;
	init = (PyObject *(*) (void)) dlsym(lib, "PyInit_plpy");
	if (init != NULL)
		PyImport_AppendInittab("plpy", init);
}
#endif

static void
start_interpreter(void)
{
	PyConfig	config;
	PyStatus	status;

#if PY_VERSION_HEX < 0x030C0000
	register_plpy();
#endif
	if (PyImport_AppendInittab(CORE_MODULE, PyInit_redis_wrapper_core) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("could not register the redis_wrapper core with Python")));

	PyConfig_InitIsolatedConfig(&config);
	config.install_signal_handlers = 0;
	config.site_import = 0;
	config.write_bytecode = 0;
	config.parse_argv = 0;
	/* Find the standard library of the Python we were built against. */
	status = PyConfig_SetBytesString(&config, &config.program_name, RW_PYTHON_EXECUTABLE);
	if (!PyStatus_Exception(status))
		status = Py_InitializeFromConfig(&config);
	PyConfig_Clear(&config);
	if (PyStatus_Exception(status))
		ereport(ERROR,
				(errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
				 errmsg("could not start the embedded Python interpreter: %s",
						status.err_msg ? status.err_msg : "unknown error")));
}

/* Is the core loaded, and usable in this process without more ado? */
bool
rw_core_loaded(void)
{
	return core_module != NULL && python_pid == MyProcPid;
}

/*
 * In a child of the postmaster that loaded the core: make the inherited
 * interpreter this process's own, once, before anything runs Python here.
 * Python's fork protocol is PyOS_BeforeFork in the parent (it takes the
 * import lock, and from 3.13 the runtime's) and PyOS_AfterFork_Child in the
 * child (which releases or remakes them, and the GIL, for the thread that
 * forked, and runs the os.register_at_fork callbacks).  The postmaster forks
 * without telling Python, with its main thread holding the GIL, Python idle
 * and no other thread; Python has stayed idle here since, so its state is the
 * parent's at the fork, and the child replays both halves.  Nothing of
 * OpenSSL's or of Redis is inherited: the core opens no socket and makes no
 * TLS context until a backend connects.
 */
void
rw_python_adopt(void)
{
	if (python_pid == 0 || python_pid == MyProcPid)
		return;
	PyOS_BeforeFork();
	PyOS_AfterFork_Child();
	python_pid = MyProcPid;
}

/* Start the interpreter (unless someone did) and load the core into it. */
static void
load_core(bool through_plpython)
{
	bool		started_here = false;
	PyGILState_STATE gil;
	char	   *failure = NULL;

#if PY_VERSION_HEX >= 0x030C0000
	if (through_plpython && !Py_IsInitialized())
		(void) start_through_plpython();
#endif
	if (!Py_IsInitialized())
	{
		start_interpreter();
		started_here = true;
	}

	gil = PyGILState_Ensure();
	if (started_here)
		core_module = PyImport_ImportModule(CORE_MODULE);	/* from the inittab */
	else
	{
		/* Python was already running: our inittab entry would come too late. */
		core_module = PyInit_redis_wrapper_core();
		if (core_module != NULL &&
			PyDict_SetItemString(PyImport_GetModuleDict(), CORE_MODULE, core_module) < 0)
			Py_CLEAR(core_module);
	}
	if (core_module == NULL)
		failure = python_error_text();
	PyGILState_Release(gil);

	if (failure)
		ereport(ERROR,
				(errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
				 errmsg("could not load the redis_wrapper scanning core: %s", failure)));
	rw_core_set_wait(rw_pg_wait, rw_pg_wait_readable);
	python_pid = MyProcPid;
}

void
rw_python_start(void)
{
	if (core_module != NULL)
		rw_python_adopt();
	else
		load_core(true);
}

/*
 * In the postmaster: the interpreter and the core, for every backend to
 * inherit.  plpython3u cannot start it here (its handlers need a transaction),
 * so it is always ours; preload.c lets plpython3u join it in the backends.
 * What the objects made so far need from the garbage collector is nothing:
 * freezing them keeps its passes from writing to (and so copying) the pages
 * the backends share.
 */
void
rw_python_preload(void)
{
	PyObject   *gc;
	PyObject   *frozen = NULL;

	load_core(false);
	gc = PyImport_ImportModule("gc");
	if (gc != NULL)
		frozen = PyObject_CallMethod(gc, "freeze", NULL);
	Py_XDECREF(gc);
	if (frozen == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
				 errmsg("could not freeze the preloaded interpreter's objects: %s", python_error_text())));
	Py_DECREF(frozen);
}
