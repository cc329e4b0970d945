module github.com/lockstep/quorum

go 1.26
