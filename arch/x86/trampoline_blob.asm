; The assembled trampoline, carried in the kernel image.
section .rodata align=16
global trampoline_start, trampoline_end
trampoline_start:
	incbin TRAMPOLINE_BIN
trampoline_end:

section .note.GNU-stack noalloc noexec nowrite progbits
