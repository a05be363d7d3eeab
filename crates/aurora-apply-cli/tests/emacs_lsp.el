;;; emacs_lsp.el --- eglot drives `aurora-apply lsp' (tests/lsp.rs runs this with emacs --batch)  -*- lexical-binding: t -*-
;;
;; Loads the Emacs set-up of docs/editors.md exactly as written ($CONFIG holds that block,
;; cut out of the docs by the test), opens $SPEC, starts eglot as `M-x eglot' does, waits for
;; flymake's diagnostics, asks for the completion list at $LINE/$COL (0-based, as LSP counts)
;; and writes both to $OUT. `aurora-apply' is found on PATH, as the docs assume.
;; Written for Debian 12's Emacs 28.2 with elpa-eglot 1.9 and elpa-yaml-mode 0.0.15; Emacs 29+
;; has eglot built in and runs it the same way.

(require 'flymake)
;; A normal start (not --batch) activates the installed packages (Debian's elpa-*) before
;; the init file; batch mode does not, so do it here.
(require 'package)
(package-activate-all)

(defvar aurora-out (getenv "OUT"))

(defun aurora-say (fmt &rest args)
  "Append one line to $OUT."
  (let ((line (concat (apply #'format fmt args) "\n")))
    (write-region line nil aurora-out t 'silent)))

(defun aurora-wait (what pred)
  "Process output until PRED holds; fail after 20 s."
  (let ((deadline (+ (float-time) 20)))
    (while (and (not (funcall pred)) (< (float-time) deadline))
      (accept-process-output nil 0.05))
    (unless (funcall pred)
      (error "%s: not within 20 s" what))))

(condition-case err
    (progn
      (write-region "" nil aurora-out nil 'silent)
      (load (getenv "CONFIG") nil t t)
      (find-file (getenv "SPEC"))
      (aurora-say "mode %s eglot %s emacs %s" major-mode
                  (if (fboundp 'eglot--version) (eglot--version)
                    (or (bound-and-true-p eglot-version)
                        (let ((f (locate-library "eglot")))
                          (and f (file-name-nondirectory (directory-file-name (file-name-directory f)))))))
                  emacs-version)
      (call-interactively #'eglot)
      (aurora-wait "eglot connected" #'eglot-current-server)
      (aurora-wait "flymake diagnostics"
                   (lambda ()
                     ;; What flymake-mode does after the next command: ask the backends again.
                     (unless (flymake-diagnostics) (flymake-start))
                     (flymake-diagnostics)))
      (dolist (d (sort (flymake-diagnostics)
                       (lambda (a b) (< (flymake-diagnostic-beg a) (flymake-diagnostic-beg b)))))
        (save-excursion
          (goto-char (flymake-diagnostic-beg d))
          (aurora-say "diagnostic %d:%d %s %s"
                      (line-number-at-pos) (1+ (current-column))
                      (flymake-diagnostic-type d)
                      (replace-regexp-in-string "\n" " " (flymake-diagnostic-text d)))))
      (goto-char (point-min))
      (forward-line (string-to-number (getenv "LINE")))
      (forward-char (string-to-number (getenv "COL")))
      (let* ((capf (eglot-completion-at-point))
             (labels (and capf (all-completions "" (nth 2 capf)))))
        (unless labels (error "no completion at %d:%d" (line-number-at-pos) (current-column)))
        ;; A candidate is the text eglot inserts; a newline in it is written as \n.
        (aurora-say "completion %s"
                    (mapconcat (lambda (l) (replace-regexp-in-string "\n" "\\n" l t t))
                               labels "|")))
      (eglot-shutdown (eglot-current-server))
      (aurora-say "done")
      (kill-emacs 0))
  (error
   (aurora-say "error: %s" (error-message-string err))
   (kill-emacs 1)))

;;; emacs_lsp.el ends here
