# Small's sscan (skip the replicas equal to a) as a 128-bit AVX variant
# would run it, for llvm-mca only (kernel/gen/mca.sh): each 32-byte vector
# is two 16-byte halves, a in xmm0 and xmm6. Registers as in Small: rax
# ptrs, rbx n, rcx offset of the object's vector, rsi replica, rdi its
# pointer, r8 the mask.
	cmpq	%rbx, %rsi
	je	0x0
	movq	(%rax,%rsi,8), %rdi
	vmovdqu	(%rdi,%rcx), %xmm1
	vmovdqu	16(%rdi,%rcx), %xmm4
	incq	%rsi
	vpcmpeqb	%xmm1, %xmm0, %xmm3
	vpcmpeqb	%xmm4, %xmm6, %xmm7
	vpand	%xmm7, %xmm3, %xmm3
	vpmovmskb	%xmm3, %r8d
	cmpl	$0xffff, %r8d
	je	0x0
