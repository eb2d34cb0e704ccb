# Writes a C++ file holding each migration's SQL as a raw string literal.
set(body "// Generated from schema/*.sql; do not edit.\n#include \"migrations.h\"\nnamespace atelier::schema {\nconst std::vector<Migration>& migrations() {\n  static const std::vector<Migration> all = {\n")
foreach(f ${MIGRATIONS})
  get_filename_component(name ${f} NAME)
  file(READ ${f} sql)
  string(APPEND body "    {\"${name}\", R\"atelier_sql(${sql})atelier_sql\"},\n")
endforeach()
string(APPEND body "  };\n  return all;\n}\n}  // namespace atelier::schema\n")
file(WRITE ${OUT} "${body}")
