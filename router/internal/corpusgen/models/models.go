// Package models holds the models of the PostgreSQL and MySQL corpora, and
// the tables every corpus has.
package models

import (
	"time"

	"gorm.io/gorm"
)

// User spells out what gorm.Model holds, after its own fields; the SQLite
// corpus's lite.User embeds gorm.Model, as the User of GORM's own tests does
// (utils/tests/models.go), so the corpora cover both column orders.

// User has many Orders and many Languages through user_languages.
type User struct {
	ID        uint
	Name      string  `gorm:"size:100;not null"`
	Email     *string `gorm:"size:191;uniqueIndex"`
	Age       *int64
	CreatedAt time.Time
	UpdatedAt time.Time
	DeletedAt gorm.DeletedAt `gorm:"index"`
	Orders    []Order
	Languages []Language `gorm:"many2many:user_languages"`
}

// Order belongs to a User.
type Order struct {
	ID        uint
	UserID    uint   `gorm:"not null;index"`
	Amount    int64  `gorm:""`
	Status    string `gorm:"size:32;default:pending"`
	CreatedAt time.Time
	UpdatedAt time.Time
	DeletedAt gorm.DeletedAt `gorm:"index"`
	User      *User
}

// Language is many2many with users.
type Language struct {
	ID   uint
	Code string `gorm:"size:8;uniqueIndex"`
	Name string `gorm:"size:64"`
}

// AuditLog has a column the database fills.
type AuditLog struct {
	ID     uint
	At     time.Time `gorm:"default:CURRENT_TIMESTAMP"`
	Action string    `gorm:"size:64"`
}

// NickUser is users with one more column, for the migrator's column
// changes.
type NickUser struct {
	Nickname string `gorm:"size:64"`
}

func (NickUser) TableName() string { return "users" }

// Account is the demo's bank account.
type Account struct {
	ID      int64 `gorm:"primaryKey;autoIncrement:false"`
	Balance int64 `gorm:"not null"`
}

// Token has a key the database makes: the SQLite corpus's tokens.
type Token struct {
	ID        string    `gorm:"primaryKey;default:(lower(hex(randomblob(16))))"`
	CreatedAt time.Time `gorm:"not null;default:(datetime('now'))"`
}
