module github.com/tunnelstat/tunnelstat

go 1.26.0
