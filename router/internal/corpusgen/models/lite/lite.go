// Package lite holds the users and orders of the SQLite corpus. Their types
// are named User and Order like the other corpora's, because GORM names
// tables and constraints after them.
package lite

import (
	"time"

	"gorm.io/gorm"

	"github.com/calibrated/calibrated/router/internal/corpusgen/models"
)

// User embeds gorm.Model, like the User of GORM's own tests.
type User struct {
	gorm.Model
	Name      string  `gorm:"not null"`
	Email     *string `gorm:"uniqueIndex"`
	Age       *int64
	Orders    []Order
	Languages []models.Language `gorm:"many2many:user_languages"`
}

// Order belongs to a User.
type Order struct {
	ID        uint
	UserID    uint `gorm:"not null;index"`
	Amount    int64
	Status    string `gorm:"default:pending"`
	CreatedAt time.Time
	UpdatedAt time.Time
	DeletedAt gorm.DeletedAt `gorm:"index"`
	User      *User
}
