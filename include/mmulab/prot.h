#ifndef MMULAB_PROT_H
#define MMULAB_PROT_H

/* Arch-neutral permissions of a mapping; arch/ turns them into entry bits. */
enum vm_prot {
	VM_READ = 1 << 0,
	VM_WRITE = 1 << 1,
	VM_EXEC = 1 << 2,
	VM_USER = 1 << 3,
	VM_GLOBAL = 1 << 4,   /* survives address-space switches (kernel) */
	VM_UNCACHED = 1 << 5, /* device memory */
};

#endif
