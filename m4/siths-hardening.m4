# SITHS_HARDENING: probe warning and hardening flags the compiler accepts and
# collect them into SITHS_WARN_CFLAGS, SITHS_HARDEN_CFLAGS and
# SITHS_HARDEN_LDFLAGS. Each flag is tried alone so one unknown flag costs
# only itself.
AC_DEFUN([SITHS_TRY_CFLAG], [
  AC_MSG_CHECKING([whether $CC accepts $2])
  siths_save_CFLAGS=$CFLAGS
  CFLAGS="$CFLAGS -Werror $2"
  AC_COMPILE_IFELSE([AC_LANG_PROGRAM([], [])],
    [AC_MSG_RESULT([yes]); $1="$$1 $2"], [AC_MSG_RESULT([no])])
  CFLAGS=$siths_save_CFLAGS
])
AC_DEFUN([SITHS_TRY_LDFLAG], [
  AC_MSG_CHECKING([whether the linker accepts $2])
  siths_save_LDFLAGS=$LDFLAGS
  LDFLAGS="$LDFLAGS -Werror $2"
  AC_LINK_IFELSE([AC_LANG_PROGRAM([], [])],
    [AC_MSG_RESULT([yes]); $1="$$1 $2"], [AC_MSG_RESULT([no])])
  LDFLAGS=$siths_save_LDFLAGS
])
AC_DEFUN([SITHS_HARDENING], [
  AC_ARG_ENABLE([werror],
    [AS_HELP_STRING([--enable-werror], [treat warnings as errors])],
    [], [enable_werror=no])
  SITHS_WARN_CFLAGS=""
  for flag in -Wall -Wextra -Wformat=2 -Wshadow -Wpointer-arith -Wcast-qual \
              -Wstrict-prototypes -Wmissing-prototypes -Wwrite-strings \
              -Wimplicit-fallthrough -Wnull-dereference -Wvla \
              -Wno-unused-parameter; do
    SITHS_TRY_CFLAG([SITHS_WARN_CFLAGS], [$flag])
  done
  AS_IF([test "x$enable_werror" = xyes],
    [SITHS_WARN_CFLAGS="$SITHS_WARN_CFLAGS -Werror"])
  SITHS_HARDEN_CFLAGS=""
  for flag in -fstack-protector-strong -fstack-clash-protection \
              -fcf-protection -fno-strict-overflow -fno-delete-null-pointer-checks; do
    SITHS_TRY_CFLAG([SITHS_HARDEN_CFLAGS], [$flag])
  done
  # _FORTIFY_SOURCE needs optimisation; leave a value the caller already set alone.
  AS_CASE([" $CPPFLAGS $CFLAGS "],
    [*_FORTIFY_SOURCE*], [],
    [*-O0*], [],
    [SITHS_HARDEN_CFLAGS="$SITHS_HARDEN_CFLAGS -U_FORTIFY_SOURCE -D_FORTIFY_SOURCE=2"])
  SITHS_HARDEN_LDFLAGS=""
  for flag in -Wl,-z,relro -Wl,-z,now -Wl,-z,noexecstack -Wl,--as-needed; do
    SITHS_TRY_LDFLAG([SITHS_HARDEN_LDFLAGS], [$flag])
  done
  AC_SUBST([SITHS_WARN_CFLAGS])
  AC_SUBST([SITHS_HARDEN_CFLAGS])
  AC_SUBST([SITHS_HARDEN_LDFLAGS])
])
