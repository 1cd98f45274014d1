/* Placeholder for a module with no sources yet. */
extern int kaifang_empty_module;
int kaifang_empty_module;
