# man/: mdoc(7) pages.
