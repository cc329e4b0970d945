# Small's two-replica object (two0Object, nil target: two unrelated
# vectors, the FAST path) as a 128-bit AVX variant would run it, for
# llvm-mca only (kernel/gen/mca.sh). a's halves in xmm0 (ID0) and xmm1
# (ID1), b's in xmm2 and xmm4; rsi and rdi the two replicas' pointers, rcx
# the offset of the object's vector, rdx the object, r10 results, r12 to,
# r9 objectSize, r8 and r13 masks.
	incq	%rdx
	addq	%r9, %rcx
	cmpq	%r12, %rdx
	jae	0x0
	vmovdqu	(%rsi,%rcx), %xmm0
	vmovdqu	16(%rsi,%rcx), %xmm1
	vmovdqu	(%rdi,%rcx), %xmm2
	vmovdqu	16(%rdi,%rcx), %xmm4
	vpcmpeqb	%xmm0, %xmm1, %xmm12
	vpmovmskb	%xmm12, %r8d
	cmpw	$0xffff, %r8w
	je	0x0
	vpcmpeqb	%xmm0, %xmm2, %xmm3
	vpcmpeqb	%xmm1, %xmm4, %xmm5
	vpmovmskb	%xmm3, %r13d
	vpand	%xmm5, %xmm3, %xmm3
	vpmovmskb	%xmm3, %r8d
	cmpl	$0xffff, %r8d
	je	0x0
	vpcmpeqb	%xmm2, %xmm4, %xmm12
	vpmovmskb	%xmm12, %r8d
	cmpw	$0xffff, %r8w
	je	0x0
	cmpw	$0xffff, %r13w
	je	0x0
	vpcmpeqb	%xmm0, %xmm4, %xmm12
	vpcmpeqb	%xmm1, %xmm2, %xmm13
	vpmovmskb	%xmm12, %r8d
	cmpw	$0xffff, %r8w
	je	0x0
	vpmovmskb	%xmm13, %r8d
	cmpw	$0xffff, %r8w
	je	0x0
	movl	$0x1000000, (%r10,%rdx,4)
	jmp	0x0
