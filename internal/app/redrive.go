package app

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/barrage-live/barrage/internal/config"
	"github.com/barrage-live/barrage/internal/kafka"
	"github.com/barrage-live/barrage/internal/redrive"
)

// runRedrive is `barrage redrive`: it moves dead letters from BARRAGE_DEAD_LETTER_TOPIC back
// to KAFKA_TOPIC within the bounds its flags give, then returns.
func runRedrive(ctx context.Context, cfg config.Config, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("redrive", flag.ContinueOnError)
	fs.SetOutput(stdout)
	opts := redrive.Options{
		Brokers: cfg.Kafka.Brokers,
		From:    cfg.Dispatch.DeadLetterTopic,
		To:      cfg.Kafka.Topic,
	}
	fs.Int64Var(&opts.Max, "max", 0, "stop after redriving this many records (0: no limit)")
	fs.DurationVar(&opts.For, "for", 0, "stop after this long, such as 10m (0: no limit)")
	fs.BoolVar(&opts.Follow, "follow", false, "keep redriving new dead letters past the topic's end at the start")
	fs.StringVar(&opts.Room, "room", "", "redrive only this room's records")
	fs.StringVar(&opts.Group, "group", "", "consumer group that keeps the position (default barrage-redrive, or barrage-redrive-room-<room>)")
	fs.DurationVar(&opts.Progress, "progress", 0, "time between progress lines (default 1s)")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("redrive: %w", err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("redrive: unexpected argument %q", fs.Arg(0))
	}
	if opts.Max < 0 || opts.For < 0 {
		return fmt.Errorf("redrive: -max and -for must not be negative")
	}
	if opts.Follow && opts.Max == 0 && opts.For == 0 {
		return fmt.Errorf("redrive: -follow needs -max or -for to end")
	}
	kcfg, err := kafka.NewConfig(cfg.Kafka, clientID(cfg, "redrive"))
	if err != nil {
		return err
	}
	_, err = redrive.Run(ctx, opts, kcfg, stdout)
	return err
}
