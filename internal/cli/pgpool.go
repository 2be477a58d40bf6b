package cli

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// startPgpool starts pgpool-II in native replication mode on loopback over
// a database of the same name on each of the two servers (pgpool sends
// every write to every backend server; the database is the client's) and
// returns a target that talks to it. Closing the target stops pgpool.
func (s *benchServers) startPgpool(ctx context.Context, cfg benchConfig, name string) (*benchTarget, error) {
	for i := range 2 {
		if _, err := s.database(ctx, name, i); err != nil {
			return nil, err
		}
	}
	dir, err := os.MkdirTemp("", "calibrated-pgpool-")
	if err != nil {
		return nil, err
	}
	fail := func(err error) (*benchTarget, error) {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("pgpool absent: %w", err)
	}
	port, err := freePort()
	if err != nil {
		return fail(err)
	}
	pcpPort, err := freePort()
	if err != nil {
		return fail(err)
	}
	conf := []string{
		"backend_clustering_mode = 'native_replication'",
		"listen_addresses = '127.0.0.1'",
		fmt.Sprintf("port = %d", port),
		fmt.Sprintf("unix_socket_directories = '%s'", dir),
		"pcp_listen_addresses = ''",
		fmt.Sprintf("pcp_port = %d", pcpPort),
		fmt.Sprintf("pcp_socket_dir = '%s'", dir),
		fmt.Sprintf("pid_file_name = '%s'", filepath.Join(dir, "pgpool.pid")),
		fmt.Sprintf("logdir = '%s'", dir),
		"enable_pool_hba = off",
		"pool_passwd = ''",
		fmt.Sprintf("num_init_children = %d", cfg.clients+2),
		"max_pool = 1",
		"child_life_time = 0",
		"connection_cache = on",
		"load_balance_mode = on",
		"replicate_select = off",
		"insert_lock = off",
		"health_check_period = 0",
		"sr_check_period = 0",
		"failover_on_backend_error = off",
	}
	for i, u := range s.urls[:2] {
		host, p := u.Hostname(), u.Port()
		if p == "" {
			p = "5432"
		}
		conf = append(conf,
			fmt.Sprintf("backend_hostname%d = '%s'", i, host),
			fmt.Sprintf("backend_port%d = %s", i, p),
			fmt.Sprintf("backend_weight%d = 1", i),
			fmt.Sprintf("backend_flag%d = 'DISALLOW_TO_FAILOVER'", i))
	}
	confFile, pcpFile := filepath.Join(dir, "pgpool.conf"), filepath.Join(dir, "pcp.conf")
	if err := os.WriteFile(confFile, []byte(strings.Join(conf, "\n")+"\n"), 0o600); err != nil {
		return fail(err)
	}
	if err := os.WriteFile(pcpFile, nil, 0o600); err != nil {
		return fail(err)
	}
	logFile, err := os.Create(filepath.Join(dir, "pgpool.log"))
	if err != nil {
		return fail(err)
	}
	cmd := exec.Command(cfg.pgpool, "-n", "-f", confFile, "-F", pcpFile)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return fail(err)
	}
	stop := func() {
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		logFile.Close()
		os.RemoveAll(dir)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "pgpool.log"))
			stop()
			return nil, fmt.Errorf("pgpool absent: it did not listen on %s: %s", addr, lastLine(string(log)))
		}
		time.Sleep(100 * time.Millisecond)
	}
	u := *s.urls[0]
	u.Host, u.Path = addr, "/"+name
	db, err := sql.Open("pgx", u.String())
	if err == nil {
		err = db.PingContext(ctx)
	}
	if err != nil {
		stop()
		return nil, fmt.Errorf("pgpool absent: %w", err)
	}
	db.SetMaxOpenConns(cfg.clients)
	db.SetMaxIdleConns(cfg.clients)
	return &benchTarget{name: "pgpool-2", db: db, close: func() { db.Close(); stop() }}, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
