dnl diariemilter for Sendmail 8.14 and later (tested with 8.17).
dnl
dnl Copy these lines into /etc/mail/sendmail.mc before its MAILER lines
dnl (the package installs this file as
dnl /usr/share/doc/diariemilter/examples/diariemilter.m4), then rebuild
dnl sendmail.cf and restart Sendmail (Debian: sendmailconfig).  See
dnl "Installing on Sendmail" in the README and MTA MACROS in
dnl diariemilter(8).
dnl
dnl DIARIEMILTER_SOCKET: [milter] socket of diariemilter.conf, written the
dnl same way (Sendmail reads unix:/PATH and inet:PORT@HOST as the daemon
dnl does); the default here is the package's.  Sendmail refuses a unix
dnl socket when a directory on its path is group- or world-writable (/tmp
dnl is); /run/diariemilter, mode 0755, is fine.
ifdef(`DIARIEMILTER_SOCKET', `',
`define(`DIARIEMILTER_SOCKET', `unix:/run/diariemilter/diariemilter.sock')')dnl
dnl
dnl F=T: while the milter cannot be reached, Sendmail answers 4xx and the
dnl sender retries; mail must not pass unrecorded.  T: Postfix's default
dnl timeouts (connect 30 s, sending and each reply 30 s, end of message
dnl 5 min); end of message waits for the journal and the spooled copies.
INPUT_MAIL_FILTER(`diariemilter', `S='DIARIEMILTER_SOCKET`, F=T, T=C:30s;S:30s;R:30s;E:5m')dnl
dnl
dnl No confMILTER_MACROS_* change is needed.  diariemilter reads i (the
dnl queue id, for the log and the journal), {auth_authen} (the SMTP AUTH
dnl login, for R14) and, only when the connect step gives no address,
dnl {client_addr}; it asks for exactly these when it connects, and
dnl Sendmail 8.14 and later send a milter what it asks for instead of the
dnl confMILTER_MACROS_* lists (8.17 sends it {client_addr} at connect,
dnl {auth_authen} at MAIL FROM and i at RCPT TO).  Sendmail's default
dnl lists contain i and {auth_authen} as well.
