# doc/: man page and notes.
