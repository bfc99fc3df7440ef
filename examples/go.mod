module github.com/tunnelstat/tunnelstat/examples

go 1.26.0

require github.com/tunnelstat/tunnelstat v0.0.0

replace github.com/tunnelstat/tunnelstat => ../
