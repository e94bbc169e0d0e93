module github.com/gobee-dev/gobee

go 1.26
