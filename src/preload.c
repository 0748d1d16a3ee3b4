/*
 * shared_preload_libraries = 'redis_wrapper': the interpreter and the core
 * start once, in the postmaster, and every backend inherits them through fork
 * (copy-on-write) instead of starting its own; a backend makes the inherited
 * interpreter its own (rw_python_adopt) the first time it runs Python.
 *
 * plpython3u joins that interpreter.  The first time a process uses it, it
 * registers its plpy module with PyImport_AppendInittab and then calls
 * Py_Initialize, which does nothing when Python runs already.  That
 * registration comes too late for the inittab (on Python 3.12+ it even aborts
 * the process), so this library defines PyImport_AppendInittab itself: loaded
 * into the postmaster before plpython3u is loaded anywhere, it comes first in
 * the global symbol scope PostgreSQL's RTLD_GLOBAL loading builds, and
 * plpython3u's call binds here.  Before Python runs, it is the inittab entry;
 * after, the module is made at once and put in sys.modules, where plpython3u's
 * import of plpy then finds it, as the inittab would have made it.
 */
#include "postgres.h"

/* Python.h wants to define these itself. */
#undef _POSIX_C_SOURCE
#undef _XOPEN_SOURCE
#include <Python.h>

#include <dlfcn.h>

#include "miscadmin.h"

#include "redis_wrapper.h"

int
PyImport_AppendInittab(const char *name, PyObject *(*initfunc) (void))
{
	struct _inittab entry[2] = {{name, initfunc}, {NULL, NULL}};
	PyGILState_STATE gil;
	PyObject   *module;
	int			result = -1;

	if (!Py_IsInitialized())
		return PyImport_ExtendInittab(entry);	/* it copies the entry */

	rw_python_adopt();			/* plpython3u may be the backend's first use */
	gil = PyGILState_Ensure();
	module = initfunc();
	if (module != NULL && PyDict_SetItemString(PyImport_GetModuleDict(), name, module) == 0)
		result = 0;
	Py_XDECREF(module);
	PyGILState_Release(gil);
	return result;
}

/* Is plpython3u's library loaded into this process already? */
static bool
plpython_loaded(void)
{
	char		path[MAXPGPATH];
	void	   *lib;

	if (!rw_plpython_path(path, sizeof(path)))
		return false;
	lib = dlopen(path, RTLD_NOW | RTLD_NOLOAD);
	if (lib == NULL)
		return false;
	dlclose(lib);
	return true;
}

/* From _PG_init: start the interpreter here if this is the postmaster preloading us. */
void
rw_preload(void)
{
	if (!process_shared_preload_libraries_in_progress || IsUnderPostmaster)
		return;
	/* Its calls would not bind here (see above): stay lazy, as without preloading. */
	if (plpython_loaded())
	{
		ereport(WARNING,
				(errmsg("redis_wrapper does not start Python in the postmaster: plpython3 was loaded before it"),
				 errhint("List redis_wrapper before plpython3 in shared_preload_libraries.")));
		return;
	}
	rw_python_preload();
}
